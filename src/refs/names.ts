const VALID_ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** True when `name` is a valid environment variable name (`[A-Za-z_][A-Za-z0-9_]*`). */
export function isValidEnvName(name: string): boolean {
  return VALID_ENV_NAME.test(name);
}

/**
 * Variables an import may never set (compared upper-cased): they change how the child or the
 * programs it starts behave (loader, interpreter, TLS trust, shell start-up) or are the agent's
 * own settings. An explicit `--env NAME=REF` may still set them: the user named the variable.
 */
export const PROTECTED_IMPORT_NAMES: readonly string[] = [
  'PATH',
  'HOME',
  'USER',
  'SHELL',
  'PWD',
  'IFS',
  'ENV',
  'BASH_ENV',
  'SHELLOPTS',
  'BASHOPTS',
  'PS4',
  'PROMPT_COMMAND',
  'TMPDIR',
  'GCONV_PATH',
  'NODE_OPTIONS',
  'NODE_PATH',
  'NODE_EXTRA_CA_CERTS',
  'PYTHONPATH',
  'PYTHONHOME',
  'PYTHONSTARTUP',
  'PERL5LIB',
  'PERL5OPT',
  'RUBYOPT',
  'RUBYLIB',
  'JAVA_TOOL_OPTIONS',
  '_JAVA_OPTIONS',
  'JDK_JAVA_OPTIONS',
  'CLASSPATH',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'REQUESTS_CA_BUNDLE',
  'CURL_CA_BUNDLE',
  'GIT_SSH',
  'GIT_SSH_COMMAND',
  'GIT_EXEC_PATH',
];

/** Prefixes an imported variable may never start with (compared upper-cased). */
export const PROTECTED_IMPORT_PREFIXES: readonly string[] = ['LD_', 'DYLD_', 'SECRUN_', 'VAULT_', 'AWS_'];

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
