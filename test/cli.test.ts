// secrun run and check in this process (runCli with an io object): the runs that end before a
// command is launched (usage, configuration and resolution errors, check). The same classes of
// exit against the shipped artifacts are covered by test/e2e/ (run.test.ts keeps one of each).
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { type Bed, findCanaries, NODE, startBed } from './helpers/cli.ts';
import { runCliInProcess as secrun } from './helpers/run-cli.ts';

let bed: Bed;
let dir: string;
before(async () => {
  bed = await startBed();
  dir = mkdtempSync(join(tmpdir(), 'secrun-cli-'));
});
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await bed.close();
});
beforeEach(() => bed.reset());

// Supervise mode where a run could get as far as a launch: a regression must not exec over the
// test process. Resolution and usage errors come before the mode matters.
const never = ['--', NODE, '-e', 'process.exit(3)'];

describe('secrun run in process: errors before the launch', () => {
  test('when one reference fails after a dynamic credential was minted then that lease is revoked', async () => {
    const r = await secrun(['run', '--mode', 'supervise', ...never], {
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
    const r = await secrun(
      ['run', '--mode', 'supervise', '--env', 'A=vault:secret/app/api#nope', '--env', 'B=valut:x', ...never],
      bed.env,
    );
    assert.ok(r.code === 64 || r.code === 65, `exit ${r.code}: ${r.stderr}`);
    assert.match(r.stderr, /could not resolve 2 secrets/);
    assert.match(r.stderr, /\bA +vault:secret\/app\/api#nope +no field "nope"/);
    assert.match(r.stderr, /\bB +\(not a reference\)/);
  });

  test('when the token may not read a secret then the exit is 77 and the error says permission denied', async () => {
    const env = { ...bed.env, VAULT_TOKEN: bed.canaries.appToken ?? '', DB: 'vault:secret/app/db#password' };
    const r = await secrun(['run', '--mode', 'supervise', ...never], env);
    assert.equal(r.code, 77, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /DB\s+vault:secret\/app\/db#password\s+.*permission denied/);
    assert.deepEqual(findCanaries(bed.canaries, r.stdout, r.stderr), []);
  });

  test('when Vault is slower than the boot deadline then the agent gives up with 69', async () => {
    // The response would take 60 s; giving up at the 1 s deadline is what the bound proves (a
    // 30 s bound leaves a busy machine a 30x margin).
    bed.vault.faults.set({ latencyMs: 60_000 });
    const started = Date.now();
    const r = await secrun(['run', '--mode', 'supervise', '--timeout', '1s', ...never], {
      ...bed.env,
      API_KEY: 'vault:secret/app/api#key',
    });
    assert.equal(r.code, 69, r.stderr);
    assert.equal(r.stdout, '');
    assert.ok(Date.now() - started < 30_000, 'gave up at the deadline, not after the slow response');
    assert.match(r.stderr, /API_KEY/);
  });

  test('when --mask is asked for with --mode exec then it is a usage error before any request', async () => {
    const r = await secrun(['run', '--mode', 'exec', '--mask', ...never], {
      ...bed.env,
      API_KEY: 'vault:secret/app/api#key',
    });
    assert.equal(r.code, 64, r.stderr);
    assert.match(r.stderr, /--mask needs supervise mode/);
    assert.equal(bed.vault.log.entries.length, 0);
  });

  test('when the log format is json then a config error keeps its key path and line', async () => {
    const file = join(dir, 'bogus.yaml');
    writeFileSync(file, 'bogus: 1\n');
    const r = await secrun(['run', '--log-format', 'json', '--config', file, ...never], bed.env);
    assert.equal(r.code, 78, r.stderr);
    const line = JSON.parse(r.stderr.trim().split('\n').at(-1) ?? '{}') as { detail?: string; code?: string };
    assert.equal(line.code, 'config.invalid');
    assert.match(line.detail ?? '', /bogus\.yaml:1: bogus/);
  });

  test('when the command does not exist then the exit is 127 and no secret was requested', async () => {
    const r = await secrun(['run', '--', 'no-such-command-secrun-test'], {
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
    const file = join(dir, 'script.sh');
    writeFileSync(file, '#!/bin/sh\necho hi\n');
    chmodSync(file, 0o644);
    const r = await secrun(['run', '--', file], { ...bed.env, API_KEY: 'vault:secret/app/api#key' });
    assert.equal(r.code, 126);
    assert.equal(bed.vault.log.entries.length, 0);
  });
});

describe('secrun check in process', () => {
  test('when check reads a dynamic credential then it revokes it (nothing will use it)', async () => {
    const r = await secrun(['check'], { ...bed.env, DB_PASS: 'vault:database/creds/app#password' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /DB_PASS/);
    assert.equal(bed.vault.log.filter({ path: '/v1/sys/leases/revoke' }).length, 1);
  });

  test('when check fails then the error does not talk about a command', async () => {
    const r = await secrun(['check'], { ...bed.env, GONE: 'vault:secret/app/gone#x' });
    assert.equal(r.code, 65);
    assert.match(r.stderr, /could not resolve 1 secret:/);
    assert.doesNotMatch(r.stderr, /command/);
  });

  test('when --json is given then the report is JSON with versions and leases', async () => {
    const r = await secrun(['check', '--json'], {
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
    const r = await secrun(['check', '--json'], { ...bed.env, GONE: 'vault:secret/app/gone#x' });
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
