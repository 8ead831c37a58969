/**
 * Every setting of `run` and `check`, declared once: its flag, its `SECRUN_*` variable, its config
 * file key, its type, default and help. The commander options (cli.ts), the merge of
 * defaults < file < variables < flags (settings.ts) and the shipped JSON Schema (schema-gen.ts)
 * all follow from this table; a test keeps schema/secrun.schema.json equal to what it generates.
 */

/** How a value is parsed and what the schema says about it. */
export type OptionKind =
  /** Free text (non-empty in the file). */
  | 'string'
  /** true/false (also 1/0, yes/no in variables). */
  | 'boolean'
  /** 30s, 500ms, 1h30m, 7d; a bare number is seconds. */
  | 'duration'
  /** One of `choices`. */
  | 'enum'
  /** A variable name (letters, digits, _). */
  | 'name'
  /** restart | exit | ignore | signal:SIGxxx. */
  | 'onChange'
  /** Variable names or prefixes ending in `*`: repeatable flag, comma list in a variable, array in the file. */
  | 'patterns'
  /** `NAME=REF` (a reference or a template): repeatable flag, a map `NAME: REF` in the file. */
  | 'entries';

/** One setting. */
export interface OptionSpec {
  /** Dotted path in {@link Settings} (`timeoutMs`, `vault.auth.roleId`). */
  setting: string;
  kind: OptionKind;
  /** One line for `--help` and the schema's description. */
  help: string;
  choices?: readonly string[];
  /** The default as a user would write it (parsed by `kind`); shown in `--help`. */
  default?: string;
  /** Flag name without dashes (`kill-timeout`); absent when there is no flag. */
  flag?: string;
  /** Short flag (`q`). */
  short?: string;
  /** Placeholder in `--help` (`<duration>`); absent for boolean flags. */
  arg?: string;
  /** The flag is `--no-<flag>` and sets false (`--no-revoke`). */
  negated?: boolean;
  /** A `--no-<flag>` twin that sets false beside the positive flag (`--mask` / `--no-mask`). */
  negatable?: boolean;
  /** Commands that take the flag; default both. */
  commands?: readonly Command[];
  /** `SECRUN_<env>`; for a negated flag the variable is negated too (`SECRUN_NO_REVOKE=true`). */
  env?: string;
  /** Dotted key in the config file (`vault.auth.role_id`). */
  file?: string;
  /** A regular expression a `string` value must match (checked by the schema). */
  pattern?: string;
  /** Longest `duration` accepted, in ms; default the longest timer (about 24 days). */
  maxMs?: number;
}

/** Commands that read settings. */
export type Command = 'run' | 'check';

const RUN: readonly Command[] = ['run'];
const CHECK: readonly Command[] = ['check'];
/** 3650 days: `--max-age` and `--min-validity` are compared, never waited for. */
const SPAN_MS = 3650 * 86_400_000;

export const MODES = ['exec', 'supervise', 'auto'] as const;
export const LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export const FORMATS = ['text', 'json'] as const;
export const METHODS = ['token', 'approle', 'kubernetes', 'jwt', 'cert'] as const;

/** The table. Order is `--help` order. */
export const OPTIONS: readonly OptionSpec[] = [
  {
    setting: 'logLevel',
    kind: 'enum',
    choices: LEVELS,
    default: 'info',
    flag: 'log-level',
    arg: '<level>',
    env: 'LOG_LEVEL',
    file: 'log_level',
    help: 'log level',
  },
  {
    setting: 'logFormat',
    kind: 'enum',
    choices: FORMATS,
    default: 'text',
    flag: 'log-format',
    arg: '<format>',
    env: 'LOG_FORMAT',
    file: 'log_format',
    help: 'log format',
  },
  { setting: 'quiet', kind: 'boolean', flag: 'quiet', short: 'q', help: 'only errors on stderr' },
  {
    setting: 'timeoutMs',
    kind: 'duration',
    default: '60s',
    flag: 'timeout',
    arg: '<duration>',
    env: 'TIMEOUT',
    file: 'timeout',
    help: 'deadline for resolving every secret',
  },
  {
    setting: 'envRefs',
    kind: 'boolean',
    default: 'true',
    flag: 'env-refs',
    negated: true,
    env: 'ENV_REFS',
    help: 'do not treat references found in the inherited environment as secrets',
  },
  {
    setting: 'strict',
    kind: 'boolean',
    default: 'false',
    flag: 'strict',
    env: 'STRICT',
    file: 'strict',
    help: 'mistyped schemes, references inside other text and references in the command line are errors (65), not warnings',
  },
  {
    setting: 'bootSplayMs',
    kind: 'duration',
    default: '0s',
    flag: 'boot-splay',
    arg: '<duration>',
    commands: RUN,
    env: 'BOOT_SPLAY',
    file: 'boot_splay',
    help: 'wait a random time up to <duration> before the first request, so a fleet does not start at once',
  },
  {
    setting: 'allowInsecureHttp',
    kind: 'boolean',
    default: 'false',
    flag: 'allow-insecure-http',
    file: 'vault.allow_insecure_http',
    help: 'allow plain http:// to a non-loopback Vault',
  },
  {
    setting: 'mode',
    kind: 'enum',
    choices: MODES,
    default: 'auto',
    flag: 'mode',
    arg: '<mode>',
    commands: RUN,
    env: 'MODE',
    file: 'mode',
    help: 'exec: replace secrun; supervise: stay as parent; auto: supervise only when something needs a parent',
  },
  {
    setting: 'pristine',
    kind: 'boolean',
    default: 'false',
    flag: 'pristine',
    commands: RUN,
    env: 'PRISTINE',
    file: 'pristine',
    help: 'start the child from PATH HOME USER LANG TZ TERM plus configured variables',
  },
  {
    setting: 'keep',
    kind: 'patterns',
    flag: 'keep',
    arg: '<NAME>',
    commands: RUN,
    env: 'KEEP',
    file: 'keep',
    help: 'keep an inherited variable that would be removed (repeatable, * suffix glob)',
  },
  {
    setting: 'drop',
    kind: 'patterns',
    flag: 'drop',
    arg: '<NAME>',
    commands: RUN,
    env: 'DROP',
    file: 'drop',
    help: 'remove a variable from the child (repeatable, * suffix glob; beats --keep)',
  },
  {
    setting: 'killTimeoutMs',
    kind: 'duration',
    default: '10s',
    flag: 'kill-timeout',
    arg: '<duration>',
    commands: RUN,
    env: 'KILL_TIMEOUT',
    file: 'kill_timeout',
    help: 'supervise: wait between the stop signal and SIGKILL',
  },
  {
    setting: 'mask',
    kind: 'boolean',
    flag: 'mask',
    negatable: true,
    commands: RUN,
    env: 'MASK',
    file: 'mask',
    help: 'replace injected values in the child output by <redacted:NAME> (default when CI is set)',
  },
  {
    setting: 'watchMs',
    kind: 'duration',
    flag: 'watch',
    arg: '<interval>',
    commands: RUN,
    env: 'WATCH',
    file: 'watch',
    help: 'poll secrets for rotation every <interval> (supervise mode)',
  },
  {
    setting: 'onChange',
    kind: 'onChange',
    default: 'restart',
    flag: 'on-change',
    arg: '<action>',
    commands: RUN,
    env: 'ON_CHANGE',
    file: 'on_change',
    help: 'on a changed secret: restart | signal:<SIG> | exit | ignore',
  },
  {
    setting: 'splayMs',
    kind: 'duration',
    default: '0s',
    flag: 'splay',
    arg: '<duration>',
    commands: RUN,
    env: 'SPLAY',
    file: 'splay',
    help: 'random delay before acting on a change',
  },
  {
    setting: 'revoke',
    kind: 'boolean',
    default: 'true',
    flag: 'revoke',
    negated: true,
    commands: RUN,
    env: 'REVOKE',
    file: 'revoke',
    help: 'keep leases and the login token when the child exits',
  },
  {
    setting: 'audit',
    kind: 'string',
    flag: 'audit',
    arg: '<target>',
    commands: RUN,
    env: 'AUDIT',
    file: 'audit',
    pattern: '^(stderr|stdout|fd:[0-9]+)$',
    help: 'audit stream (JSON lines): stderr, stdout or fd:N',
  },
  {
    setting: 'maxAgeMs',
    kind: 'duration',
    maxMs: SPAN_MS,
    flag: 'max-age',
    arg: '<duration>',
    commands: CHECK,
    env: 'MAX_AGE',
    file: 'check.max_age',
    help: 'fail (exit 79) when a secret was last changed longer ago than this, e.g. 90d',
  },
  {
    setting: 'minValidityMs',
    kind: 'duration',
    maxMs: SPAN_MS,
    flag: 'min-validity',
    arg: '<duration>',
    commands: CHECK,
    env: 'MIN_VALIDITY',
    file: 'check.min_validity',
    help: 'fail (exit 79) when a certificate expires sooner than this, e.g. 14d',
  },
  {
    setting: 'files',
    kind: 'entries',
    flag: 'file',
    arg: '<NAME=REF>',
    commands: ['run', 'check'],
    file: 'files',
    help: 'give the child NAME=/dev/fd/N, an in-memory pipe it reads the secret from (repeatable; implies supervise)',
  },
  {
    setting: 'vault.address',
    kind: 'string',
    file: 'vault.address',
    help: 'Vault address; default VAULT_ADDR',
  },
  {
    setting: 'vault.namespace',
    kind: 'string',
    file: 'vault.namespace',
    help: 'Vault Enterprise namespace; default VAULT_NAMESPACE',
  },
  ...vaultAuthOptions(),
  { setting: 'vault.tls.ca', kind: 'string', file: 'vault.tls.ca', help: 'CA bundle file (VAULT_CACERT)' },
  {
    setting: 'vault.tls.capath',
    kind: 'string',
    file: 'vault.tls.capath',
    help: 'directory of CA certificates (VAULT_CAPATH)',
  },
  {
    setting: 'vault.tls.cert',
    kind: 'string',
    file: 'vault.tls.cert',
    help: 'client certificate file (VAULT_CLIENT_CERT)',
  },
  {
    setting: 'vault.tls.key',
    kind: 'string',
    file: 'vault.tls.key',
    help: 'client key file (VAULT_CLIENT_KEY)',
  },
  {
    setting: 'vault.tls.serverName',
    kind: 'string',
    file: 'vault.tls.server_name',
    help: 'TLS server name (VAULT_TLS_SERVER_NAME)',
  },
  {
    setting: 'vault.tls.skipVerify',
    kind: 'boolean',
    file: 'vault.tls.skip_verify',
    help: 'do not verify the server certificate (VAULT_SKIP_VERIFY); never in production',
  },
  {
    setting: 'aws.region',
    kind: 'string',
    env: 'AWS_REGION',
    file: 'aws.region',
    help: "region; default the SDK region chain (or the ARN's region)",
  },
  {
    setting: 'aws.endpoint',
    kind: 'string',
    file: 'aws.endpoint',
    help: 'Secrets Manager endpoint URL; default AWS_ENDPOINT_URL_SECRETS_MANAGER',
  },
];

/** `vault.auth.*`: `--vault-auth-<key>`, `SECRUN_VAULT_AUTH_<KEY>` and `vault.auth.<key>` alike. */
function vaultAuthOptions(): OptionSpec[] {
  const rows: Array<[string, OptionKind, string, string?]> = [
    ['method', 'enum', 'Vault auth method', '<method>'],
    ['mount', 'string', 'auth mount path (default: the method name)', '<path>'],
    ['role', 'string', 'role (approle, kubernetes, jwt)', '<name>'],
    ['roleId', 'string', 'AppRole role id (not a secret on its own)', '<id>'],
    ['roleIdFile', 'string', 'AppRole role id from a file', '<file>'],
    ['secretIdFile', 'string', 'AppRole secret id from a file (never a flag value)', '<file>'],
    ['secretIdEnv', 'name', 'AppRole secret id from this variable (removed from the child)', '<NAME>'],
    ['wrapped', 'boolean', 'the secret id source holds a response-wrapping token'],
    ['wrappedPath', 'string', 'expected creation path of the wrapping token', '<path>'],
    ['tokenFile', 'string', 'token file (token: after VAULT_TOKEN and ~/.vault-token; kubernetes)', '<file>'],
    ['jwtFile', 'string', 'JWT / Kubernetes: token file', '<file>'],
    ['jwtEnv', 'name', 'JWT from this variable (removed from the child)', '<NAME>'],
    ['audience', 'string', 'JWT: audience of the GitHub Actions OIDC token', '<aud>'],
    ['name', 'string', 'cert: the certificate role', '<name>'],
  ];
  return rows.map(([key, kind, help, arg]) => {
    const kebab = key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    const snake = kebab.replace(/-/g, '_');
    return {
      setting: `vault.auth.${key}`,
      kind,
      help,
      flag: `vault-auth-${kebab}`,
      env: `VAULT_AUTH_${snake.toUpperCase()}`,
      file: `vault.auth.${snake}`,
      ...(arg ? { arg } : {}),
      ...(key === 'method' ? { choices: METHODS, default: 'token' } : {}),
    };
  });
}

/** The options whose flag `command` takes. */
export function flagsOf(command: Command): OptionSpec[] {
  return OPTIONS.filter((o) => o.flag !== undefined && (o.commands ?? ['run', 'check']).includes(command));
}

/** The flag as typed: `--kill-timeout`, `--no-revoke`. */
export function flagText(o: OptionSpec): string {
  return `--${o.negated ? 'no-' : ''}${o.flag}`;
}

/** The key commander stores a flag's value under: `kill-timeout` -> `killTimeout`. */
export function flagAttribute(o: OptionSpec): string {
  return (o.flag ?? '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** The variable as typed: `SECRUN_TIMEOUT`, `SECRUN_NO_REVOKE`. */
export function envText(o: OptionSpec): string {
  return `SECRUN_${o.negated ? 'NO_' : ''}${o.env}`;
}
