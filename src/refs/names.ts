const VALID_ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** True when `name` is a valid environment variable name (`[A-Za-z_][A-Za-z0-9_]*`). */
export function isValidEnvName(name: string): boolean {
  return VALID_ENV_NAME.test(name);
}

/** One family of variables an import may never set: exact names and name prefixes, upper-case. */
export interface ProtectedFamily {
  family: string;
  names: readonly string[];
  prefixes: readonly string[];
}

/**
 * Variables an import may never set, by family (compared upper-cased, so `https_proxy` counts):
 * they change how the child or the programs it starts behave (loader, interpreter, runtime, TLS
 * trust, proxy, shell start-up) or are the agent's own settings. An explicit `--env NAME=REF`
 * may still set them: the user named the variable. The README lists the same table.
 */
export const PROTECTED_IMPORT_FAMILIES: readonly ProtectedFamily[] = [
  {
    family: 'process basics',
    names: ['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'PWD', 'TMPDIR'],
    prefixes: [],
  },
  {
    family: 'dynamic loader and glibc',
    names: [
      'GCONV_PATH',
      'GETCONF_DIR',
      'GLIBC_TUNABLES',
      'HOSTALIASES',
      'LOCALDOMAIN',
      'LOCPATH',
      'MALLOC_ARENA_MAX',
      'MALLOC_CHECK_',
      'MALLOC_PERTURB_',
      'MALLOC_TRACE',
      'NIS_PATH',
      'NLSPATH',
      'RESOLV_HOST_CONF',
      'RES_OPTIONS',
      'TZDIR',
    ],
    prefixes: ['LD_', 'DYLD_'],
  },
  {
    family: 'OpenSSL and TLS libraries',
    names: ['SSL_CERT_FILE', 'SSL_CERT_DIR', 'SSLKEYLOGFILE', 'GNUTLS_SYSTEM_PRIORITY_FILE'],
    prefixes: ['OPENSSL_'],
  },
  {
    family: 'shells',
    names: [
      'ENV',
      'BASH_ENV',
      'IFS',
      'CDPATH',
      'GLOBIGNORE',
      'SHELLOPTS',
      'BASHOPTS',
      'PS1',
      'PS2',
      'PS3',
      'PS4',
      'PROMPT_COMMAND',
      'ZDOTDIR',
      'INPUTRC',
    ],
    prefixes: ['BASH_'],
  },
  { family: 'Perl', names: ['PERLLIB', 'PERLIO', 'PERLIO_DEBUG'], prefixes: ['PERL5', 'PERL_'] },
  { family: 'Python', names: [], prefixes: ['PYTHON'] },
  { family: 'Ruby', names: ['RUBYOPT', 'RUBYLIB', 'RUBYSHELL'], prefixes: ['RUBY_', 'GEM_', 'BUNDLE_'] },
  {
    family: 'Node.js and JavaScript runtimes',
    names: [],
    prefixes: ['NODE_', 'NPM_CONFIG_', 'DENO_', 'BUN_'],
  },
  {
    family: 'Java / JVM',
    names: [
      'JAVA_TOOL_OPTIONS',
      'JAVA_OPTS',
      'JAVA_OPTIONS',
      'JAVA_HOME',
      '_JAVA_OPTIONS',
      'JDK_JAVA_OPTIONS',
      'JVM_OPTS',
      'CLASSPATH',
      'CATALINA_OPTS',
      'MAVEN_OPTS',
      'GRADLE_OPTS',
    ],
    prefixes: [],
  },
  {
    family: '.NET',
    names: ['ASPNETCORE_HOSTINGSTARTUPASSEMBLIES'],
    prefixes: ['DOTNET_', 'CORECLR_', 'COMPLUS_', 'CORE_PROFILER'],
  },
  { family: 'PHP', names: ['PHPRC', 'PHP_INI_SCAN_DIR'], prefixes: [] },
  { family: 'Lua', names: [], prefixes: ['LUA_'] },
  {
    family: 'Go',
    names: [
      'GODEBUG',
      'GOFLAGS',
      'GOTRACEBACK',
      'GOGC',
      'GOMEMLIMIT',
      'GOMAXPROCS',
      'GOEXPERIMENT',
      'GOROOT',
      'GOPATH',
      'GOENV',
      'GOTOOLCHAIN',
      'GOPROXY',
      'GONOPROXY',
      'GOSUMDB',
      'GONOSUMDB',
      'GOPRIVATE',
      'GOINSECURE',
    ],
    prefixes: ['CGO_'],
  },
  {
    family: 'proxies',
    names: [
      'HTTP_PROXY',
      'HTTPS_PROXY',
      'NO_PROXY',
      'ALL_PROXY',
      'FTP_PROXY',
      'GRPC_PROXY',
      'WSS_PROXY',
      'WS_PROXY',
    ],
    prefixes: [],
  },
  {
    family: 'CA bundles and TLS trust',
    names: [
      'CURL_CA_BUNDLE',
      'REQUESTS_CA_BUNDLE',
      'PIP_CERT',
      'GRPC_DEFAULT_SSL_ROOTS_FILE_PATH',
      'SSL_CERT_FILE',
      'SSL_CERT_DIR',
    ],
    prefixes: [],
  },
  { family: 'git', names: [], prefixes: ['GIT_'] },
  { family: 'secrun and its providers', names: [], prefixes: ['SECRUN_', 'VAULT_', 'AWS_'] },
];

/** Every protected exact name, all families together (upper-case). */
export const PROTECTED_IMPORT_NAMES: readonly string[] = [
  ...new Set(PROTECTED_IMPORT_FAMILIES.flatMap((f) => f.names)),
];

/** Prefixes an imported variable may never start with (compared upper-cased). */
export const PROTECTED_IMPORT_PREFIXES: readonly string[] = [
  ...new Set(PROTECTED_IMPORT_FAMILIES.flatMap((f) => f.prefixes)),
];

const PROTECTED_NAME_SET = new Set(PROTECTED_IMPORT_NAMES);

/** True when an import may not set `name` ({@link PROTECTED_IMPORT_NAMES}, {@link PROTECTED_IMPORT_PREFIXES}). */
export function isProtectedImportName(name: string): boolean {
  return PROTECTED_NAME_SET.has(name.toUpperCase()) || isProtectedPrefix(name);
}

/** True when every name built from `prefix` would be protected (e.g. `LD_`, `aws_`). */
export function isProtectedPrefix(prefix: string): boolean {
  const upper = prefix.toUpperCase();
  return PROTECTED_IMPORT_PREFIXES.some((p) => upper.startsWith(p));
}
