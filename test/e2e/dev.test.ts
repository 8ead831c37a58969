// `secrun dev` started as a process.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { collectOutput } from '../helpers/child-output.ts';
import { ROOT, secrunCommand } from '../helpers/cli.ts';

test('when secrun dev runs in a checkout without --seed then it starts with examples/seed.yaml and stops on SIGTERM', async () => {
  const proc = spawn(...secrunCommand(['dev', '--vault-port', '0', '--aws-port', '0']), {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = collectOutput(proc);
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  try {
    const deadline = Date.now() + 60_000;
    while (!/Ctrl-C to stop/.test(out.stderr())) {
      if (proc.exitCode !== null) assert.fail(`secrun dev exited: ${out.stderr()}`);
      if (Date.now() > deadline) assert.fail('secrun dev did not start');
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.match(out.stderr(), /seed .*examples\/seed\.yaml/);
    const addr = /^export VAULT_ADDR=(\S+)$/m.exec(out.stdout())?.[1];
    assert.ok(addr, out.stdout());
    // The example seed's database role exists only when that seed was loaded.
    const res = await fetch(`${addr}/v1/database/creds/payments`, {
      headers: { 'x-vault-token': 'hvs.dev-only-root-token' },
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { data: { username?: string } };
    assert.ok(body.data.username);
  } finally {
    proc.kill('SIGTERM');
  }
  assert.equal(await exited, 0);
});
