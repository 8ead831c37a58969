import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
beforeEach(() => {
  bed.vault.log.clear();
  bed.aws.log.clear();
  bed.vault.faults.clear();
  bed.aws.faults.clear();
});

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

  test('when one reference fails after a dynamic credential was minted then that lease is revoked', async () => {
    const r = await runSecrun(['run', '--', NODE, '-e', "process.stdout.write('STARTED')"], {
      ...bed.env,
      DB_USER: 'vault:database/creds/app#username',
      GONE: 'vault:secret/app/gone#x',
    });
    assert.equal(r.code, 65, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(bed.vault.log.filter({ path: '/v1/database/creds/app' }).length, 1);
    assert.equal(
      bed.vault.log.filter({ path: '/v1/sys/leases/revoke' }).length,
      1,
      'the unused credential is revoked',
    );
  });

  test('when one reference is malformed and another fails to resolve then both are listed', async () => {
    const r = await runSecrun(
      ['run', '--env', 'A=vault:secret/app/api#nope', '--env', 'B=valut:x', '--', NODE, '-e', '0'],
      bed.env,
    );
    assert.ok(r.code === 64 || r.code === 65, `exit ${r.code}: ${r.stderr}`);
    assert.match(r.stderr, /could not resolve 2 secrets/);
    assert.match(r.stderr, /\bA +vault:secret\/app\/api#nope +no field "nope"/);
    assert.match(r.stderr, /\bB +\(not a reference\)/);
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

  test('when the token may not read a secret then the exit is 77 and the error says permission denied', async () => {
    const env = { ...bed.env, VAULT_TOKEN: bed.canaries.appToken ?? '', DB: 'vault:secret/app/db#password' };
    const r = await runSecrun(['run', '--', NODE, '-e', "process.stdout.write('STARTED')"], env);
    assert.equal(r.code, 77, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /DB\s+vault:secret\/app\/db#password\s+.*permission denied/);
    assert.deepEqual(findCanaries(bed.canaries, r.stdout, r.stderr), []);
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

  test('when Vault is slower than the boot deadline then the agent gives up with 69', async () => {
    // The response would take 60 s; giving up at the 1 s deadline is what the bound proves (a
    // 30 s bound leaves a busy machine a 30x margin for process start-up).
    bed.vault.faults.set({ latencyMs: 60_000 });
    const started = Date.now();
    const r = await runSecrun(
      ['run', '--timeout', '1s', '--', NODE, '-e', "process.stdout.write('STARTED')"],
      {
        ...bed.env,
        API_KEY: 'vault:secret/app/api#key',
      },
    );
    assert.equal(r.code, 69, r.stderr);
    assert.equal(r.stdout, '');
    assert.ok(Date.now() - started < 30_000, 'gave up at the deadline, not after the slow response');
    assert.match(r.stderr, /API_KEY/);
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

  test('when --mask is asked for with --mode exec then it is a usage error before any request', async () => {
    const r = await runSecrun(['run', '--mode', 'exec', '--mask', '--', NODE, '-e', '0'], {
      ...bed.env,
      API_KEY: 'vault:secret/app/api#key',
    });
    assert.equal(r.code, 64, r.stderr);
    assert.match(r.stderr, /--mask needs supervise mode/);
    assert.equal(bed.vault.log.entries.length, 0);
  });

  test('when the log format is json then a config error keeps its key path and line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'secrun-agent-'));
    try {
      writeFileSync(join(dir, 'bad.yaml'), 'bogus: 1\n');
      const r = await runSecrun(
        ['run', '--log-format', 'json', '--config', join(dir, 'bad.yaml'), '--', NODE, '-e', '0'],
        bed.env,
      );
      assert.equal(r.code, 78, r.stderr);
      const line = JSON.parse(r.stderr.trim().split('\n').at(-1) ?? '{}') as {
        detail?: string;
        code?: string;
      };
      assert.equal(line.code, 'config.invalid');
      assert.match(line.detail ?? '', /bad\.yaml:1: bogus/);
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
  test('when the command does not exist then the exit is 127 and no secret was requested', async () => {
    const r = await runSecrun(['run', '--', 'no-such-command-secrun-test'], {
      ...bed.env,
      API_KEY: 'vault:secret/app/api#key',
      S: 'awssm:prod/plain',
    });
    assert.equal(r.code, 127);
    assert.match(r.stderr, /no-such-command-secrun-test/);
    assert.equal(bed.vault.log.entries.length, 0);
    assert.equal(bed.aws.log.entries.length, 0);
  });

  test('when the command is not executable then the exit is 126 and no secret was requested', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'secrun-agent-'));
    try {
      const file = join(dir, 'script.sh');
      writeFileSync(file, '#!/bin/sh\necho hi\n');
      chmodSync(file, 0o644);
      const r = await runSecrun(['run', '--', file], { ...bed.env, API_KEY: 'vault:secret/app/api#key' });
      assert.equal(r.code, 126);
      assert.equal(bed.vault.log.entries.length, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

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

  for (const mode of ['exec', 'supervise']) {
    test(`when the child exits with a code in ${mode} mode then secrun exits with it`, async () => {
      for (const code of [0, 1, 2, 42, 255]) {
        const r = await runSecrun(
          ['run', '--mode', mode, '--', NODE, `${FIXTURES}exit-with.mjs`, String(code)],
          bed.env,
        );
        assert.equal(r.code, code, `exit ${code}: ${r.stderr}`);
      }
    });
  }

  test('when the supervised child is killed by a signal then secrun exits 128 + n', async () => {
    for (const [sig, expected] of [
      ['SIGTERM', 143],
      ['SIGKILL', 137],
      ['SIGSEGV', 139],
    ] as const) {
      const r = await runSecrun(
        ['run', '--mode', 'supervise', '--', NODE, `${FIXTURES}kill-self.mjs`, sig],
        bed.env,
      );
      assert.equal(r.code, expected, `${sig}: ${r.stderr}`);
    }
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

  test('when check reads a dynamic credential then it revokes it (nothing will use it)', async () => {
    const r = await runSecrun(['check'], { ...bed.env, DB_PASS: 'vault:database/creds/app#password' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(bed.vault.log.filter({ path: '/v1/sys/leases/revoke' }).length, 1);
  });

  test('when check fails then the error does not talk about a command', async () => {
    const r = await runSecrun(['check'], { ...bed.env, GONE: 'vault:secret/app/gone#x' });
    assert.equal(r.code, 65);
    assert.match(r.stderr, /could not resolve 1 secret:/);
    assert.doesNotMatch(r.stderr, /command/);
  });

  test('when --json is given then the report is JSON with versions and leases', async () => {
    const r = await runSecrun(['check', '--json'], {
      ...bed.env,
      DB_PASS: 'vault:database/creds/app#password',
      KV_PASS: 'vault:secret/app/db#password',
    });
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { ok: boolean; variables: Array<Record<string, unknown>> };
    assert.equal(report.ok, true);
    const byName = new Map(report.variables.map((v) => [v['variable'], v]));
    assert.equal(byName.get('KV_PASS')?.['version'], 2);
    assert.equal(byName.get('DB_PASS')?.['renewable'], true);
    assert.equal(byName.get('DB_PASS')?.['leaseTtl'], 3600);
    assert.deepEqual(findCanaries(bed.canaries, r.stdout, r.stderr), []);
  });

  test('when a reference fails then check exits like run and the JSON names the failure', async () => {
    const r = await runSecrun(['check', '--json'], { ...bed.env, GONE: 'vault:secret/app/gone#x' });
    assert.equal(r.code, 65);
    const report = JSON.parse(r.stdout) as { ok: boolean; error: { failures: Array<{ variable: string }> } };
    assert.equal(report.ok, false);
    assert.equal(report.error.failures[0]?.variable, 'GONE');
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one summary line on stderr for the CI log: ${r.stderr}`);
    assert.match(
      lines[0] ?? '',
      /^secrun: check failed \(exit 65\): could not resolve 1 secret.*GONE.*vault:secret\/app\/gone#x/,
    );
  });
});
