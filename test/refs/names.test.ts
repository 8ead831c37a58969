import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { RefError } from '../../src/base/errors.ts';
import { importNames, isProtectedImportName } from '../../src/refs/index.ts';
import { PROTECTED_IMPORT_FAMILIES } from '../../src/refs/names.ts';

/** An unprefixed import of one field named `field` (lower-case, as secrets usually spell it). */
function refused(field: string): boolean {
  try {
    importNames([field], '');
    return false;
  } catch (err) {
    assert.ok(err instanceof RefError);
    assert.equal(err.code, 'ref.importProtected');
    return true;
  }
}

/** Each family: the names an unprefixed import must refuse, and neighbours it must still allow. */
const families: Record<string, { refused: string[]; allowed?: string[] }> = {
  'process basics': { refused: ['path', 'home', 'shell', 'tmpdir'], allowed: ['paths', 'home_url'] },
  'dynamic loader and glibc': {
    refused: [
      'ld_preload',
      'ld_library_path',
      'ld_audit',
      'gconv_path',
      'glibc_tunables',
      'locpath',
      'nlspath',
      'hostaliases',
      'res_options',
      'malloc_trace',
      'dyld_insert_libraries',
    ],
    allowed: ['lang', 'lc_all', 'tz'],
  },
  'OpenSSL and TLS libraries': {
    refused: [
      'openssl_conf',
      'openssl_modules',
      'openssl_engines',
      'ssl_cert_file',
      'ssl_cert_dir',
      'sslkeylogfile',
    ],
    allowed: ['ssl_mode', 'tls_key'],
  },
  shells: {
    refused: [
      'bash_env',
      'env',
      'ifs',
      'shellopts',
      'bashopts',
      'ps4',
      'prompt_command',
      'cdpath',
      'zdotdir',
      'bash_xtracefd',
    ],
    allowed: ['environment', 'envoy_admin'],
  },
  Perl: {
    refused: ['perl5lib', 'perllib', 'perl5opt', 'perl5db', 'perlio', 'perl_hash_seed'],
    allowed: ['perlite'],
  },
  Python: {
    refused: [
      'pythonpath',
      'pythonhome',
      'pythonstartup',
      'pythonbreakpoint',
      'pythonwarnings',
      'pythoninspect',
    ],
  },
  Ruby: {
    refused: ['rubyopt', 'rubylib', 'ruby_gc_heap_init_slots', 'gem_home', 'gem_path', 'bundle_gemfile'],
  },
  'Node.js and JavaScript runtimes': {
    refused: [
      'node_options',
      'node_path',
      'node_extra_ca_certs',
      'node_tls_reject_unauthorized',
      'node_env',
      'npm_config_script_shell',
      'deno_cert',
      'bun_options',
    ],
    allowed: ['nodes', 'node'],
  },
  'Java / JVM': {
    refused: [
      'java_tool_options',
      'java_opts',
      '_java_options',
      'jdk_java_options',
      'classpath',
      'java_home',
      'catalina_opts',
      'maven_opts',
    ],
    allowed: ['java_version_label'],
  },
  '.NET': {
    refused: [
      'dotnet_startup_hooks',
      'dotnet_additional_deps',
      'coreclr_enable_profiling',
      'coreclr_profiler_path',
      'complus_enablediagnostics',
      'core_profiler_path',
      'aspnetcore_hostingstartupassemblies',
    ],
    allowed: ['aspnetcore_environment'],
  },
  PHP: { refused: ['phprc', 'php_ini_scan_dir'], allowed: ['php_version_label'] },
  Lua: { refused: ['lua_init', 'lua_init_5_4', 'lua_path', 'lua_cpath'], allowed: ['luasec'] },
  Go: {
    refused: [
      'godebug',
      'goflags',
      'gotraceback',
      'goroot',
      'gopath',
      'gotoolchain',
      'goproxy',
      'gomemlimit',
      'cgo_cflags',
    ],
    allowed: ['google_api_key', 'gopher'],
  },
  proxies: {
    refused: ['http_proxy', 'https_proxy', 'no_proxy', 'all_proxy', 'ftp_proxy', 'grpc_proxy'],
    allowed: ['proxy_port'],
  },
  'CA bundles and TLS trust': {
    refused: [
      'curl_ca_bundle',
      'requests_ca_bundle',
      'node_extra_ca_certs',
      'aws_ca_bundle',
      'ssl_cert_file',
      'pip_cert',
      'git_ssl_cainfo',
    ],
  },
  git: {
    refused: ['git_ssh', 'git_ssh_command', 'git_exec_path', 'git_config_parameters'],
    allowed: ['github_token'],
  },
  'secrun and its providers': {
    refused: ['secrun_log_level', 'vault_token', 'vault_addr', 'aws_secret_access_key', 'aws_region'],
  },
};

describe('protected import names, one test per family', () => {
  test('when the families are listed then every family of the source has a test here', () => {
    assert.deepEqual(PROTECTED_IMPORT_FAMILIES.map((f) => f.family).sort(), Object.keys(families).sort());
  });

  for (const [family, cases] of Object.entries(families)) {
    test(`when an unprefixed import would set a ${family} variable then it is refused`, () => {
      for (const field of cases.refused) {
        assert.equal(refused(field), true, `${field} must be refused`);
        assert.equal(isProtectedImportName(field.toUpperCase()), true, field);
        // Any case: Go, curl and Python read http_proxy in lower case too.
        assert.equal(isProtectedImportName(field), true, field);
      }
      for (const field of cases.allowed ?? []) assert.equal(refused(field), false, `${field} must pass`);
      // A prefix keeps the child's runtime out of reach of the secret's field names.
      for (const field of cases.refused) assert.equal(importNames([field], 'APP_').size, 1, field);
    });
  }

  test('when the README lists the protected variables then every name and prefix is there', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const start = readme.indexOf('### Variables an import may not set');
    assert.ok(start >= 0, 'README section "Variables an import may not set"');
    const section = readme.slice(start, readme.indexOf('\n## ', start));
    for (const f of PROTECTED_IMPORT_FAMILIES) {
      assert.ok(section.includes(f.family), f.family);
      for (const n of f.names) assert.ok(section.includes(`\`${n}\``), n);
      for (const p of f.prefixes) assert.ok(section.includes(`\`${p}*\``), `${p}*`);
    }
  });
});
