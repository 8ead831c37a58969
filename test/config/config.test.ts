import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Ajv } from 'ajv';
import { ConfigError, UsageError } from '../../src/base/errors.ts';
import { loadConfigFile, parseConfig } from '../../src/config/file.ts';
import {
  findConfigFile,
  loadConfig,
  parseBoolean,
  parseDuration,
  parseEnvFlag,
  parseImportFlag,
  parseOnChange,
  resolveSettings,
} from '../../src/config/index.ts';
import { thrown } from '../helpers/assert.ts';

const dir = mkdtempSync(join(tmpdir(), 'secrun-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function tempDir(name: string): string {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  return d;
}

const FULL_YAML = `# full example
vault:
  address: https://vault.internal:8200
  namespace: team-a
  auth:
    method: approle
    mount: approle-prod
    role_id: abc
    secret_id_env: APPROLE_SECRET_ID
    wrapped: true
  tls: { ca: /etc/vault/ca.pem, cert: /etc/vault/client.pem, key: /etc/vault/key.pem, skip_verify: false }
aws:
  region: eu-west-1
env:
  SPRING_DATASOURCE_USERNAME: vault:database/creds/payments#username
  SPRING_DATASOURCE_PASSWORD: { ref: "vault:database/creds/payments#password", on_change: "signal:SIGHUP" }
import:
  - ref: vault:secret/payments/config
    prefix: APP_
  - awssm:prod/shared
mode: supervise
pristine: true
keep: [LOG_*]
drop: [AWS_SECRET_ACCESS_KEY]
timeout: 1m30s
kill_timeout: 5
log_level: debug
log_format: json
on_change: restart
watch: 5m
mask: true
`;

describe('parseConfig', () => {
  test('when an env entry is marked write: true then its params reach the settings as strings', () => {
    const cfg = parseConfig(
      'env:\n  K:\n    ref: vault:aws/sts/deploy#access_key\n    write: true\n    params: { ttl: 900, role_session_name: ci, flag: true }\n  R:\n    ref: vault:aws/sts/deploy#access_key\n    write: false\n',
      'w.yaml',
    );
    const s = resolveSettings({ file: cfg, env: {}, flags: {} });
    assert.deepEqual(s.env[0], {
      name: 'K',
      ref: 'vault:aws/sts/deploy#access_key',
      source: 'config',
      write: { ttl: '900', role_session_name: 'ci', flag: 'true' },
    });
    assert.equal(s.env[1]?.write, undefined, 'write: false is a read');
  });

  test('when params come without write: true, or write: true on an awssm: reference, then each is named with its line', () => {
    const e = thrown(() =>
      parseConfig(
        'env:\n  A:\n    ref: vault:aws/sts/deploy#access_key\n    params: { ttl: 1h }\n  B:\n    ref: awssm:prod/x#k\n    write: true\n',
        'w.yaml',
      ),
    );
    assert.ok(e instanceof ConfigError);
    assert.match(e.message, /w\.yaml:4: env\.A\.params: params are sent only by a write/);
    assert.match(e.message, /w\.yaml:6: env\.B\.ref: write: true needs one vault: reference/);
    const nested = thrown(() =>
      parseConfig(
        'env:\n  C:\n    ref: vault:aws/sts/deploy#k\n    write: true\n    params: { ttl: [1] }\n',
        'w.yaml',
      ),
    );
    assert.match(nested.message, /w\.yaml:5: env\.C\.params\.ttl: must be a string/);
  });

  test('when a full YAML file is valid then every key is read', () => {
    const cfg = parseConfig(FULL_YAML, 'secrun.yaml');
    assert.equal((cfg.data['vault'] as { auth?: { method?: string } } | undefined)?.auth?.method, 'approle');
    assert.equal(cfg.data.env?.['SPRING_DATASOURCE_USERNAME'], 'vault:database/creds/payments#username');
    assert.equal(cfg.lineOf(['vault', 'auth', 'role_id']), 8);
    const s = resolveSettings({ file: cfg, env: {}, flags: {} });
    assert.equal(s.mode, 'supervise');
    assert.equal(s.timeoutMs, 90_000);
    assert.equal(s.killTimeoutMs, 5_000);
    assert.equal(s.watchMs, 300_000);
    assert.deepEqual(s.onChange, { action: 'restart' });
    assert.deepEqual(s.env[1], {
      name: 'SPRING_DATASOURCE_PASSWORD',
      ref: 'vault:database/creds/payments#password',
      source: 'config',
      onChange: { action: 'signal', signal: 'SIGHUP' },
    });
    assert.deepEqual(s.imports, [
      { ref: 'vault:secret/payments/config', prefix: 'APP_', source: 'config' },
      { ref: 'awssm:prod/shared', source: 'config' },
    ]);
    assert.deepEqual(s.vault.auth, {
      method: 'approle',
      mount: 'approle-prod',
      roleId: 'abc',
      secretIdEnv: 'APPROLE_SECRET_ID',
      wrapped: true,
    });
    assert.deepEqual(s.vault.tls, {
      ca: '/etc/vault/ca.pem',
      cert: '/etc/vault/client.pem',
      key: '/etc/vault/key.pem',
      skipVerify: false,
    });
    assert.equal(s.aws.region, 'eu-west-1');
    assert.equal(s.vault.address, 'https://vault.internal:8200');
    assert.equal(s.pristine, true);
    assert.equal(s.mask, true);
    assert.deepEqual(s.keep, ['LOG_*']);
    assert.equal(s.logFormat, 'json');
  });

  test('when a key is unknown then the error names its path and line', () => {
    const err = thrown(() => parseConfig('vault:\n  auth:\n    methd: token\n', 'secrun.yaml'));
    assert.ok(err instanceof ConfigError);
    assert.equal(err.exitCode, 78);
    assert.match(err.message, /secrun\.yaml:3: vault\.auth\.methd: unknown key/);
  });

  test('when a type is wrong then the error says what is expected, with the line', () => {
    const err = thrown(() =>
      parseConfig('mode: exec\n\ntimeout: 30x\npristine: "yes"\nmode2: 1\n', 'c.yaml'),
    );
    assert.match(err.message, /c\.yaml:3: timeout: must be a duration like 30s/);
    assert.match(err.message, /c\.yaml:4: pristine: must be a boolean/);
    assert.match(err.message, /c\.yaml:5: mode2: unknown key/);
  });

  test('when env and import entries are bad then each is named', () => {
    const text = [
      'env:',
      '  1BAD: vault:x',
      '  PLAIN: hello',
      '  OBJ: { ref: vault:x, on_change: signal:SIGNOPE }',
      '  OBJ2: { ref: vault:x, extra: 1 }',
      'import:',
      '  - { ref: vault:x, prefix: 9X }',
      'on_change: reboot',
      'log_level: verbose',
    ].join('\n');
    const err = thrown(() => parseConfig(text, 'f.yaml'));
    assert.match(err.message, /f\.yaml:2: env\.1BAD: not a valid variable name/);
    assert.match(err.message, /f\.yaml:3: env\.PLAIN: must be a reference/);
    assert.match(err.message, /f\.yaml:5: env\.OBJ2\.extra: unknown key/);
    assert.match(err.message, /f\.yaml:7: import\.0\.prefix: must be letters, digits and _/);
    assert.match(err.message, /f\.yaml:8: on_change: must be restart, exit, ignore or signal/);
    assert.match(err.message, /f\.yaml:9: log_level: must be one of debug, info, warn, error, silent/);
  });

  test('when the schema passes but a signal is unknown then the error names the key and line', () => {
    const err = thrown(() =>
      parseConfig('env:\n  A:\n    ref: vault:x\n    on_change: signal:SIGNOPE\n', 'g.yaml'),
    );
    assert.match(err.message, /g\.yaml:4: env\.A\.on_change: must be restart/);
  });

  test('when the YAML is malformed or has duplicate keys then the line is named', () => {
    const err = thrown(() => parseConfig('mode: exec\nmode: auto\n', 'd.yaml'));
    assert.ok(err instanceof ConfigError);
    assert.equal(err.code, 'config.syntax');
    assert.match(err.message, /d\.yaml:2:/);
    assert.match(thrown(() => parseConfig('env: [\n', 'e.yaml')).message, /e\.yaml:\d+: invalid YAML/);
  });

  test('when the file is empty then it is an empty config; a list root is an error', () => {
    assert.deepEqual(parseConfig('', 'x.yaml').data, {});
    assert.match(thrown(() => parseConfig('- a\n', 'x.yaml')).message, /must be a mapping/);
  });

  test('when a JSON file is given then it is parsed and validated the same way', () => {
    const file = join(tempDir('json'), 'secrun.json');
    writeFileSync(file, JSON.stringify({ mode: 'exec', env: { A: 'awssm:x#k' } }, null, 2));
    const cfg = loadConfigFile(file);
    assert.equal(cfg.data['mode'], 'exec');
    writeFileSync(file, '{\n  "mode": "exec",\n  "vault": {\n    "adress": "x"\n  }\n}\n');
    assert.match(thrown(() => loadConfigFile(file)).message, /secrun\.json:4: vault\.adress: unknown key/);
  });

  test('when the file cannot be read then the error says so with exit 78', () => {
    const err = thrown(() => loadConfigFile(join(dir, 'missing.yaml')));
    assert.ok(err instanceof ConfigError);
    assert.equal(err.code, 'config.unreadable');
  });

  test('when the shipped schema is compiled then it is a valid draft-07 schema', () => {
    const schema = JSON.parse(
      readFileSync(new URL('../../schema/secrun.schema.json', import.meta.url), 'utf8'),
    ) as object;
    const validate = new Ajv({ strict: true }).compile(schema);
    assert.equal(validate({ mode: 'auto', extra: 1 }), false);
    assert.equal(validate({ mode: 'auto', $schema: './schema/secrun.schema.json' }), true);
  });
});

describe('findConfigFile', () => {
  test('when --config is given then it wins over SECRUN_CONFIG and ./secrun.yaml', async () => {
    const d = tempDir('find1');
    writeFileSync(join(d, 'secrun.yaml'), 'mode: exec\n');
    writeFileSync(join(d, 'other.yaml'), 'mode: supervise\n');
    writeFileSync(join(d, 'env.yaml'), 'mode: auto\n');
    assert.equal(
      findConfigFile({ flag: 'other.yaml', env: { SECRUN_CONFIG: 'env.yaml' }, cwd: d }),
      join(d, 'other.yaml'),
    );
    assert.equal(
      findConfigFile({ env: { SECRUN_CONFIG: join(d, 'env.yaml') }, cwd: d }),
      join(d, 'env.yaml'),
    );
    assert.equal(findConfigFile({ env: { SECRUN_CONFIG: '' }, cwd: d }), join(d, 'secrun.yaml'));
    assert.equal((await loadConfig({ env: {}, cwd: d }))?.data['mode'], 'exec');
  });

  test('when no file is present then there is no config; secrun.yml is found too', async () => {
    const d = tempDir('find2');
    assert.equal(findConfigFile({ env: {}, cwd: d }), undefined);
    assert.equal(await loadConfig({ env: {}, cwd: d }), undefined);
    writeFileSync(join(d, 'secrun.yml'), 'mode: exec\n');
    assert.equal(findConfigFile({ env: {}, cwd: d }), join(d, 'secrun.yml'));
    writeFileSync(join(d, 'secrun.yaml'), 'mode: exec\n');
    assert.equal((thrown(() => findConfigFile({ env: {}, cwd: d })) as ConfigError).code, 'config.ambiguous');
  });

  test('when an explicit file does not exist then it is a config error naming its source', () => {
    const d = tempDir('find3');
    const err = thrown(() => findConfigFile({ env: { SECRUN_CONFIG: 'nope.yaml' }, cwd: d }));
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /nope\.yaml \(from SECRUN_CONFIG\) does not exist/);
    assert.match(thrown(() => findConfigFile({ flag: 'x.yaml', env: {}, cwd: d })).message, /from --config/);
  });
});

describe('resolveSettings', () => {
  test('when nothing is configured then the defaults apply', () => {
    const s = resolveSettings({ env: {}, flags: {} });
    assert.equal(s.mode, 'auto');
    assert.equal(s.timeoutMs, 60_000);
    assert.equal(s.killTimeoutMs, 10_000);
    assert.equal(s.logLevel, 'info');
    assert.equal(s.logFormat, 'text');
    assert.equal(s.envRefs, true);
    assert.equal(s.pristine, false);
    assert.equal(s.mask, false);
    assert.equal(s.vault.auth.method, 'token');
    assert.deepEqual(s.onChange, { action: 'restart' });
    assert.equal(s.watchMs, undefined);
    assert.equal(s.configFile, undefined);
  });

  test('when file, env and flags all set a value then flag > env > file > default', () => {
    const file = parseConfig(
      'mode: exec\ntimeout: 10s\nlog_level: warn\npristine: false\nmask: false\nkill_timeout: 1s\n',
      'p.yaml',
    );
    const env = {
      SECRUN_MODE: 'supervise',
      SECRUN_TIMEOUT: '20s',
      SECRUN_PRISTINE: 'yes',
      SECRUN_KILL_TIMEOUT: '2s',
    };
    const cases: Array<
      [string, Parameters<typeof resolveSettings>[0], Partial<ReturnType<typeof resolveSettings>>]
    > = [
      [
        'file',
        { file, env: {}, flags: {} },
        { mode: 'exec', timeoutMs: 10_000, pristine: false, killTimeoutMs: 1000 },
      ],
      [
        'env',
        { file, env, flags: {} },
        { mode: 'supervise', timeoutMs: 20_000, pristine: true, killTimeoutMs: 2000 },
      ],
      [
        'flags',
        { file, env, flags: { mode: 'auto', timeout: '30s', pristine: false, killTimeout: '3s' } },
        { mode: 'auto', timeoutMs: 30_000, pristine: false, killTimeoutMs: 3000 },
      ],
      ['env only', { env, flags: {} }, { mode: 'supervise', timeoutMs: 20_000 }],
    ];
    for (const [name, input, expected] of cases) {
      const s = resolveSettings(input);
      for (const [key, value] of Object.entries(expected)) {
        assert.deepEqual(s[key as keyof typeof s], value, `${name}: ${key}`);
      }
    }
    assert.equal(resolveSettings({ file, env: {}, flags: {} }).configFile, 'p.yaml');
  });

  test('when SECRUN_* variables are set then each maps to its setting', () => {
    const s = resolveSettings({
      env: {
        SECRUN_LOG_LEVEL: 'debug',
        SECRUN_LOG_FORMAT: 'json',
        SECRUN_NO_ENV_REFS: 'true',
        SECRUN_KEEP: 'A, B_*',
        SECRUN_DROP: 'C',
        SECRUN_VAULT_AUTH_METHOD: 'kubernetes',
        SECRUN_VAULT_AUTH_ROLE: 'payments',
        SECRUN_VAULT_AUTH_MOUNT: 'k8s-prod',
        SECRUN_VAULT_AUTH_WRAPPED: '0',
        SECRUN_VAULT_AUTH_JWT_ENV: 'MY_JWT',
        SECRUN_AWS_REGION: 'us-east-2',
        SECRUN_MASK: 'YES',
        SECRUN_WATCH: '90',
        SECRUN_ON_CHANGE: 'signal:SIGUSR1',
        SECRUN_MODE: '',
      },
      flags: { keep: ['D'] },
    });
    assert.equal(s.logLevel, 'debug');
    assert.equal(s.logFormat, 'json');
    assert.equal(s.envRefs, false);
    assert.deepEqual(s.keep, ['A', 'B_*', 'D']);
    assert.deepEqual(s.drop, ['C']);
    assert.deepEqual(s.vault.auth, {
      method: 'kubernetes',
      role: 'payments',
      mount: 'k8s-prod',
      wrapped: false,
      jwtEnv: 'MY_JWT',
    });
    assert.equal(s.aws.region, 'us-east-2');
    assert.equal(s.mask, true);
    assert.equal(s.watchMs, 90_000);
    assert.deepEqual(s.onChange, { action: 'signal', signal: 'SIGUSR1' });
    assert.equal(s.mode, 'auto', 'an empty variable counts as unset');
  });

  test('when a SECRUN_* value is junk then a ConfigError names the variable', () => {
    const cases: Record<string, string> = {
      SECRUN_PRISTINE: 'maybe',
      SECRUN_MODE: 'fast',
      SECRUN_TIMEOUT: 'soon',
      SECRUN_LOG_FORMAT: 'xml',
      SECRUN_VAULT_AUTH_METHOD: 'ldap',
      SECRUN_VAULT_AUTH_SECRET_ID_ENV: 'not-a-name',
      SECRUN_KEEP: 'A*B',
      SECRUN_ON_CHANGE: 'signal:SIGNOPE',
    };
    for (const [name, value] of Object.entries(cases)) {
      const err = thrown(() => resolveSettings({ env: { [name]: value }, flags: {} }));
      assert.ok(err instanceof ConfigError, name);
      assert.ok(err.message.startsWith(name), `${name}: ${err.message}`);
    }
  });

  test('when a flag value is junk then a UsageError names the flag', () => {
    const cases: Array<[Parameters<typeof resolveSettings>[0]['flags'], string]> = [
      [{ mode: 'fast' }, '--mode'],
      [{ timeout: '0' }, '--timeout'],
      [{ killTimeout: 'x' }, '--kill-timeout'],
      [{ env: ['NOEQUALS'] }, '--env'],
      [{ env: ['1A=vault:x'] }, '--env'],
      [{ import: ['APP_=plain'] }, '--import'],
      [{ drop: ['*A'] }, '--drop'],
    ];
    for (const [flags, name] of cases) {
      const err = thrown(() => resolveSettings({ env: {}, flags }));
      assert.ok(err instanceof UsageError, name);
      assert.ok(err.message.startsWith(name), `${name}: ${err.message}`);
    }
  });

  test('when env and import flags are given then they follow the config entries with source flag', () => {
    const file = parseConfig('env:\n  A: vault:a\nimport:\n  - vault:i\n', 'x.yaml');
    const s = resolveSettings({
      file,
      env: {},
      flags: { env: ['B=vault:b?version=2#f'], import: ['vault:j', 'P_=awssm:k'] },
    });
    assert.deepEqual(s.env, [
      { name: 'A', ref: 'vault:a', source: 'config' },
      { name: 'B', ref: 'vault:b?version=2#f', source: 'flag' },
    ]);
    assert.deepEqual(s.imports, [
      { ref: 'vault:i', source: 'config' },
      { ref: 'vault:j', source: 'flag' },
      { ref: 'awssm:k', prefix: 'P_', source: 'flag' },
    ]);
  });

  test('when --quiet is given then the log level is error unless --log-level says otherwise', () => {
    assert.equal(resolveSettings({ env: {}, flags: { quiet: true } }).logLevel, 'error');
    assert.equal(resolveSettings({ env: {}, flags: { quiet: true, logLevel: 'warn' } }).logLevel, 'warn');
  });

  test('when CI is set then masking defaults to on', () => {
    assert.equal(resolveSettings({ env: { CI: 'true' }, flags: {} }).mask, true);
    assert.equal(resolveSettings({ env: { CI: 'false' }, flags: {} }).mask, false);
    assert.equal(resolveSettings({ env: { CI: '1', SECRUN_MASK: 'no' }, flags: {} }).mask, false);
  });
});

describe('value parsers', () => {
  test('when durations are parsed then units add up to milliseconds', () => {
    const cases: Array<[string | number, number]> = [
      ['90', 90_000],
      [90, 90_000],
      ['500ms', 500],
      ['30s', 30_000],
      ['5m', 300_000],
      ['1h', 3_600_000],
      ['1h30m', 5_400_000],
      ['1.5s', 1500],
      ['0', 0],
      [' 2m ', 120_000],
    ];
    for (const [text, ms] of cases) assert.equal(parseDuration(text), ms, String(text));
  });

  test('when a duration is malformed or too long then the message says what is accepted', () => {
    for (const text of ['', 'abc', '5 m', '-1s', '1w', '1us', '1.s', 's', '10sm', -5, Number.NaN]) {
      assert.match(thrown(() => parseDuration(text)).message, /must be a duration like 30s/, String(text));
    }
    assert.match(thrown(() => parseDuration('1000h')).message, /too long/);
    assert.equal(parseDuration('7d'), 7 * 86_400_000);
    assert.equal(parseDuration(' 1h30m '), 5_400_000);
  });

  test('when booleans are parsed then only true/false/1/0/yes/no are accepted', () => {
    for (const t of ['true', 'TRUE', '1', 'yes', 'Yes']) assert.equal(parseBoolean(t), true);
    for (const f of ['false', '0', 'no', 'NO']) assert.equal(parseBoolean(f), false);
    for (const junk of ['', 'y', 'on', '2', 'truthy'])
      assert.throws(() => parseBoolean(junk), /must be true or false/);
  });

  test('when on_change is parsed then known actions and signals are accepted', () => {
    assert.deepEqual(parseOnChange('exit'), { action: 'exit' });
    assert.deepEqual(parseOnChange('signal:SIGTERM'), { action: 'signal', signal: 'SIGTERM' });
    assert.throws(() => parseOnChange('signal:SIGNOPE'), /known signal/);
    assert.throws(() => parseOnChange('signal:hup'), /must be restart/);
    assert.throws(() => parseOnChange('signal:SIGKILL'), /cannot be caught/);
  });

  test('when --env and --import texts are parsed then names, refs and prefixes are split', () => {
    assert.deepEqual(parseEnvFlag('A=vault:x?version=1#a=b'), { name: 'A', ref: 'vault:x?version=1#a=b' });
    assert.deepEqual(parseImportFlag('vault:x?version=1'), { ref: 'vault:x?version=1' });
    assert.deepEqual(parseImportFlag('APP_=vault:x'), { ref: 'vault:x', prefix: 'APP_' });
    assert.deepEqual(parseImportFlag('=vault:x'), { ref: 'vault:x', prefix: '' });
    assert.throws(() => parseEnvFlag('=vault:x'), UsageError);
    assert.throws(() => parseImportFlag('plain'), UsageError);
  });
});
