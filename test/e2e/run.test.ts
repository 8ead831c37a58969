import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { type Bed, childReport, FIXTURES, findCanaries, NODE, runSecrun, startBed } from '../helpers/cli.ts';

let bed: Bed;
before(async () => {
  bed = await startBed();
});
after(async () => {
  await bed.close();
});
beforeEach(() => bed.reset());

const printEnv = [NODE, `${FIXTURES}print-env.mjs`];

describe('secrun run: resolution', () => {
  test('when many variables reference a few documents then each document is read once and the child gets every value', async () => {
    const env = {
      ...bed.env,
      DB_USER: 'vault:database/creds/app#username',
      DB_PASS: 'vault:database/creds/app#password',
      API_KEY: 'vault:secret/app/api#key',
      KV_PASS: 'vault:secret/data/app/db#password',
      KV_OLD: 'vault:secret/app/db?version=1#password',
      KV_PORT: 'vault:secret/app/db#port',
      LEGACY: 'vault:kv1/legacy#key',
      STRIPE: 'awssm:prod/stripe#api_key',
      HOOK: 'awssm:prod/stripe#webhook',
      PLAIN: 'awssm:prod/plain',
      DATABASE_URL: 'postgres://db.internal:5432/app',
    };
    const r = await runSecrun(['run', '--mode', 'supervise', '--', ...printEnv], env);
    assert.equal(r.code, 0, r.stderr);
    const child = childReport(r.stdout).env;
    const c = bed.canaries;
    assert.match(child['DB_USER'] ?? '', /\S{8,}/);
    assert.match(child['DB_PASS'] ?? '', /\S{8,}/);
    assert.notEqual(child['DB_USER'], child['DB_PASS']);
    assert.equal(child['API_KEY'], c.apiKey);
    assert.equal(child['KV_PASS'], c.dbPassword);
    assert.equal(child['KV_OLD'], c.oldPassword);
    assert.equal(child['KV_PORT'], '5432');
    assert.equal(child['LEGACY'], c.apiKey);
    assert.equal(child['STRIPE'], c.stripe);
    assert.equal(child['HOOK'], c.webhook);
    assert.equal(child['PLAIN'], c.apiKey);
    assert.equal(child['DATABASE_URL'], 'postgres://db.internal:5432/app', 'non-references pass through');

    // One read per document: two variables, one dynamic credential (two reads mint two users).
    assert.equal(bed.vault.log.filter({ path: '/v1/database/creds/app' }).length, 1);
    assert.equal(
      bed.vault.log.filter({ path: '/v1/secret/data/app/db' }).length,
      2,
      'latest (both path styles share one read) + version 1',
    );
    assert.equal(bed.vault.log.filter({ path: '/v1/secret/data/app/api' }).length, 1);
    assert.equal(
      bed.vault.log.filter({ path: /^\/v1\/sys\/internal\/ui\/mounts\/secret/ }).length,
      1,
      'one preflight per mount',
    );
    const awsOps = bed.aws.log.entries.map((e) => e.operation);
    assert.deepEqual(awsOps, ['BatchGetSecretValue'], 'both awssm documents in one batch');

    assert.equal(child['VAULT_TOKEN'], undefined, "the agent's Vault token never reaches the child");
    assert.deepEqual(findCanaries(bed.canaries, r.stderr), []);
  });

  test('when references fail then the command is not started and one error lists every failing variable', async () => {
    const env = {
      ...bed.env,
      MISSING: 'vault:secret/app/missing#x',
      NO_FIELD: 'vault:secret/app/api#nofield',
      AWS_MISSING: 'awssm:prod/nope#k',
      OK: 'vault:secret/app/api#key',
    };
    const r = await runSecrun(['run', '--', NODE, '-e', "process.stdout.write('STARTED')"], env);
    assert.equal(r.code, 65, r.stderr);
    assert.equal(r.stdout, '', 'the command never ran');
    for (const text of [
      'MISSING',
      'vault:secret/app/missing#x',
      'NO_FIELD',
      'AWS_MISSING',
      'awssm:prod/nope#k',
    ]) {
      assert.ok(r.stderr.includes(text), `stderr names ${text}: ${r.stderr}`);
    }
    assert.match(
      r.stderr,
      /no field "nofield"; the secret has fields "key"/,
      'a missing field lists the field names',
    );
    assert.ok(!r.stderr.includes('OK '), 'a variable that resolved is not listed as failing');
    assert.deepEqual(findCanaries(bed.canaries, r.stdout, r.stderr), []);
  });

  test('when an inherited value looks like a mistyped scheme then secrun warns without printing it', async () => {
    const r = await runSecrun(['run', '--', NODE, '-e', '0'], {
      ...bed.env,
      DB_PW: `valut:${bed.canaries.apiKey}`,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /DB_PW looks like a mistyped vault: reference/);
    assert.deepEqual(findCanaries(bed.canaries, r.stderr), []);
  });

  test('when Vault answers 503 twice then the agent retries and the command starts', async () => {
    bed.vault.faults.set({ failNext: { status: 503, count: 2 } });
    const r = await runSecrun(['run', '--mode', 'supervise', '--', ...printEnv], {
      ...bed.env,
      API_KEY: 'vault:secret/app/api#key',
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(childReport(r.stdout).env['API_KEY'], bed.canaries.apiKey);
    assert.ok(bed.vault.log.entries.filter((e) => e.status === 503).length === 2);
  });

  test('when Vault is unreachable then the exit is 69 and the address is named', async () => {
    const r = await runSecrun(['run', '--timeout', '3s', '--', NODE, '-e', '0'], {
      ...bed.env,
      VAULT_ADDR: 'http://127.0.0.1:1',
      API_KEY: 'vault:secret/app/api#key',
    });
    assert.equal(r.code, 69, r.stderr);
    assert.match(r.stderr, /API_KEY/);
    assert.deepEqual(findCanaries(bed.canaries, r.stderr), []);
  });

  test('when --env and --import are given then they add variables and explicit entries win over imports', async () => {
    const r = await runSecrun(
      [
        'run',
        '--mode',
        'supervise',
        '--env',
        'FROM_FLAG=vault:secret/app/api#key',
        '--import',
        'APP_=awssm:prod/stripe',
        '--env',
        'APP_WEBHOOK=vault:secret/app/db#username',
        '--',
        ...printEnv,
      ],
      bed.env,
    );
    assert.equal(r.code, 0, r.stderr);
    const child = childReport(r.stdout).env;
    assert.equal(child['FROM_FLAG'], bed.canaries.apiKey);
    assert.equal(child['APP_API_KEY'], bed.canaries.stripe);
    assert.equal(child['APP_WEBHOOK'], 'app', 'the explicit entry beats the imported field');
  });

  test('when --no-env-refs is given then references in the environment stay literal', async () => {
    const r = await runSecrun(['run', '--no-env-refs', '--mode', 'supervise', '--', ...printEnv], {
      ...bed.env,
      LITERAL: 'vault:secret/app/api#key',
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(childReport(r.stdout).env['LITERAL'], 'vault:secret/app/api#key');
    assert.equal(bed.vault.log.entries.length, 0);
  });

  test('when --pristine, --keep and --drop are given then the child environment is exactly what they say', async () => {
    const r = await runSecrun(
      ['run', '--pristine', '--keep', 'KEEP_ME', '--drop', 'HOME', '--mode', 'supervise', '--', ...printEnv],
      { ...bed.env, KEEP_ME: '1', NOT_ME: '2', API_KEY: 'vault:secret/app/api#key' },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(Object.keys(childReport(r.stdout).env).sort(), ['API_KEY', 'KEEP_ME', 'PATH']);
  });

  test('when a config file names the references then they are resolved', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'secrun-agent-'));
    try {
      writeFileSync(
        join(dir, 'secrun.yaml'),
        'env:\n  DB_PASSWORD: vault:secret/app/db#password\nimport:\n  - { ref: "vault:secret/app/api", prefix: API_ }\nmode: supervise\n',
      );
      const r = await runSecrun(['run', '--', ...printEnv], bed.env, { cwd: dir });
      assert.equal(r.code, 0, r.stderr);
      const child = childReport(r.stdout).env;
      assert.equal(child['DB_PASSWORD'], bed.canaries.dbPassword);
      assert.equal(child['API_KEY'], bed.canaries.apiKey);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('when the config file has an unknown key then the exit is 78 and the key path is named', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'secrun-agent-'));
    try {
      writeFileSync(join(dir, 'bad.yaml'), 'vault:\n  adress: http://x\n');
      const r = await runSecrun(['run', '--config', join(dir, 'bad.yaml'), '--', NODE, '-e', '0'], bed.env);
      assert.equal(r.code, 78, r.stderr);
      assert.match(r.stderr, /vault\.adress/);
      assert.match(r.stderr, /:2/, 'the line is named');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('when debug logging is on then no secret value or token appears on stderr', async () => {
    const r = await runSecrun(['run', '--log-level', 'debug', '--', NODE, '-e', '0'], {
      ...bed.env,
      A: 'vault:secret/app/db#password',
      B: 'awssm:prod/stripe#api_key',
      C: 'vault:database/creds/app#password',
    });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stderr.length > 0, 'debug logging printed something');
    assert.deepEqual(findCanaries(bed.canaries, r.stdout, r.stderr), []);
  });
});

describe('secrun run: launching', () => {
  test('when the mode is exec then the child takes over the agent PID with exactly the built environment', async () => {
    const r = await runSecrun(['run', '--mode', 'exec', '--', ...printEnv], {
      ...bed.env,
      API_KEY: 'vault:secret/app/api#key',
    });
    assert.equal(r.code, 0, r.stderr);
    const child = childReport(r.stdout);
    assert.equal(child.pid, r.pid, 'same PID: secrun replaced itself');
    assert.equal(child.env['API_KEY'], bed.canaries.apiKey);
    assert.equal(child.env['VAULT_TOKEN'], undefined);
  });

  test('when the mode is auto and only static secrets were read then secrun execs', async () => {
    const r = await runSecrun(['run', '--', ...printEnv], {
      ...bed.env,
      API_KEY: 'vault:secret/app/api#key',
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(childReport(r.stdout).pid, r.pid);
  });

  test('when the mode is auto and a renewable lease was read then secrun supervises', async () => {
    const r = await runSecrun(['run', '--', ...printEnv], {
      ...bed.env,
      U: 'vault:database/creds/app#username',
    });
    assert.equal(r.code, 0, r.stderr);
    assert.notEqual(childReport(r.stdout).pid, r.pid);
  });

  // 0 is every passing run's; the whole table (0, 1, 2, 42, 127, 255 and three signals) is
  // test/launch/supervisor.test.ts's, against the supervisor in a process of its own.
  for (const mode of ['exec', 'supervise']) {
    test(`when the child exits with a code in ${mode} mode then secrun exits with it`, async () => {
      const codes = [1, 42, 255];
      const runs = await Promise.all(
        codes.map((code) =>
          runSecrun(['run', '--mode', mode, '--', NODE, `${FIXTURES}exit-with.mjs`, String(code)], bed.env),
        ),
      );
      runs.forEach((r, i) => {
        assert.equal(r.code, codes[i], `exit ${codes[i]}: ${r.stderr}`);
      });
    });
  }

  test('when the supervised child is killed by a signal then secrun exits 128 + n', async () => {
    const cases = [
      ['SIGTERM', 143],
      ['SIGKILL', 137],
      ['SIGSEGV', 139],
    ] as const;
    const runs = await Promise.all(
      cases.map(([sig]) =>
        runSecrun(['run', '--mode', 'supervise', '--', NODE, `${FIXTURES}kill-self.mjs`, sig], bed.env),
      ),
    );
    runs.forEach((r, i) => {
      const [sig, expected] = cases[i]!;
      assert.equal(r.code, expected, `${sig}: ${r.stderr}`);
    });
  });

  test('when the supervised command is sh exiting 127 then secrun passes 127 through', async () => {
    const r = await runSecrun(['run', '--mode', 'supervise', '--', 'sh', '-c', 'exit 127'], bed.env);
    assert.equal(r.code, 127);
  });
});

describe('secrun check', () => {
  test('when every reference resolves then a value-free table is printed and the exit is 0', async () => {
    const r = await runSecrun(['check'], {
      ...bed.env,
      DB_PASS: 'vault:database/creds/app#password',
      KV_PASS: 'vault:secret/app/db#password',
      STRIPE: 'awssm:prod/stripe#api_key',
    });
    assert.equal(r.code, 0, r.stderr);
    for (const text of [
      'DB_PASS',
      'KV_PASS',
      'STRIPE',
      'vault:database/creds/app#password',
      'database/creds/app/',
    ]) {
      assert.ok(r.stdout.includes(text), `table shows ${text}:\n${r.stdout}`);
    }
    assert.deepEqual(findCanaries(bed.canaries, r.stdout, r.stderr), []);
  });
});
