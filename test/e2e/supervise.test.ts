import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { after, before, beforeEach, describe, test } from 'node:test';
import { collectOutput } from '../helpers/child-output.ts';
import { type Bed, FIXTURES, findCanaries, NODE, secrunCommand, startBed } from '../helpers/cli.ts';
import { until } from '../helpers/poll.ts';

let bed: Bed;
const running = new Set<ChildProcessWithoutNullStreams>();
before(async () => {
  bed = await startBed();
});
after(async () => {
  for (const child of running) child.kill('SIGKILL');
  await bed.close();
});
beforeEach(() => bed.reset());

interface Running {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** Starts `secrun run` and keeps it running; output is collected as it comes. */
function start(args: string[], env: Record<string, string>): Running {
  const child = spawn(...secrunCommand(['run', ...args]), { env, stdio: 'pipe' });
  const out = collectOutput(child);
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  running.add(child);
  child.on('close', () => running.delete(child));
  return { child, ...out, exited };
}

/** Waits until `check` is true; on timeout the secrun process is killed and its output shown. */
function untilRunning(what: string, check: () => boolean, r: Running, timeoutMs?: number): Promise<void> {
  return until(
    () => {
      r.child.kill('SIGKILL');
      return `${what}\nstdout: ${r.stdout()}\nstderr: ${r.stderr()}`;
    },
    check,
    timeoutMs,
  );
}

const starts = (out: string) =>
  out
    .split('\n')
    .filter((l) => l.includes('"event":"start"'))
    .map((l) => JSON.parse(l) as { pid: number; env: Record<string, string | null> });

async function writeKv(path: string, data: Record<string, string>): Promise<void> {
  const res = await fetch(`${bed.vault.url}/v1/secret/data/${path}`, {
    method: 'POST',
    headers: { 'x-vault-token': bed.canaries.token, 'content-type': 'application/json' },
    body: JSON.stringify({ data }),
  });
  assert.equal(res.status, 200);
}

describe('secrun run: long-running services', () => {
  test('when a watched KV v2 secret rotates then the child is restarted with the new value', async () => {
    await writeKv('app/rotating', { key: 'first-value' });
    const r = start(
      ['--watch', '300ms', '--on-change', 'restart', '--', NODE, `${FIXTURES}print-env-on-start.mjs`, 'ROT'],
      {
        ...bed.env,
        ROT: 'vault:secret/app/rotating#key',
      },
    );
    await untilRunning('the first start', () => starts(r.stdout()).length === 1, r);
    assert.equal(starts(r.stdout())[0]?.env['ROT'], 'first-value');
    await writeKv('app/rotating', { key: 'second-value' });
    await untilRunning('the restart', () => starts(r.stdout()).length === 2, r);
    const [first, second] = starts(r.stdout());
    assert.equal(second?.env['ROT'], 'second-value');
    assert.notEqual(first?.pid, second?.pid);
    const metadata = bed.vault.log.filter({ path: '/v1/secret/metadata/app/rotating' }).length;
    assert.ok(metadata >= 1, 'rotation is detected from the metadata, not by reading the secret');
    r.child.kill('SIGTERM');
    assert.equal(await r.exited, 0, 'the child exits 0 on SIGTERM and secrun passes it through');
  });

  test('when a dynamic lease was read then auto mode supervises and revokes the lease when the child exits', async () => {
    const r = start(
      ['--audit', 'stderr', '--', NODE, `${FIXTURES}print-env-on-start.mjs`, 'U', 'exit:7:200'],
      {
        ...bed.env,
        U: 'vault:database/creds/app#username',
      },
    );
    assert.equal(await r.exited, 7, r.stderr());
    const revokes = bed.vault.log.filter({ path: '/v1/sys/leases/revoke' });
    assert.equal(revokes.length, 1, 'the lease is revoked at exit');
    const events = r
      .stderr()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => (JSON.parse(l) as { event: string }).event);
    for (const e of ['auth.login', 'secret.read', 'child.start', 'child.exit', 'lease.revoke']) {
      assert.ok(events.includes(e), `audit has ${e}: ${events.join(', ')}`);
    }
    assert.deepEqual(findCanaries(bed.canaries, r.stderr()), []);
  });

  test('when --no-revoke is given then the lease is kept at exit', async () => {
    const r = start(['--no-revoke', '--', NODE, `${FIXTURES}print-env-on-start.mjs`, 'U', 'exit:0:100'], {
      ...bed.env,
      U: 'vault:database/creds/app#username',
    });
    assert.equal(await r.exited, 0, r.stderr());
    assert.equal(bed.vault.log.filter({ path: '/v1/sys/leases/revoke' }).length, 0);
  });

  test('when masking is on then secret values printed by the child are redacted', async () => {
    const script = 'process.stdout.write("key=" + process.env.API_KEY + " pw=" + process.env.PW + "\\n")';
    const r = start(['--mask', '--', NODE, '-e', script], {
      ...bed.env,
      API_KEY: 'vault:secret/app/api#key',
      PW: 'awssm:prod/stripe#api_key',
    });
    assert.equal(await r.exited, 0, r.stderr());
    assert.equal(r.stdout(), 'key=<redacted:API_KEY> pw=<redacted:PW>\n');
    assert.deepEqual(findCanaries(bed.canaries, r.stdout(), r.stderr()), []);
  });
});
