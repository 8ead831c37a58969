import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { type Bed, secrunCommand, startBed } from '../helpers/cli.ts';

let bed: Bed;
before(async () => {
  bed = await startBed();
});
after(async () => {
  await bed.close();
});

test('when the reader of a masked output goes away (| head -1) then the child sees SIGPIPE, its status passes through and the lease is revoked', async () => {
  // The loop writes until its stdout breaks; without secrun it dies of SIGPIPE (141 in a shell).
  const child = spawn(
    ...secrunCommand([
      'run',
      '--mask',
      '--mode',
      'supervise',
      '--',
      'sh',
      '-c',
      'while :; do echo a line; done',
    ]),
    {
      env: { ...bed.env, DB_PASS: 'vault:database/creds/app#password' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => {
    stderr += c;
  });
  // Like `head -1`: read the first line, then close the pipe.
  await new Promise<void>((resolve) => {
    let seen = '';
    const onData = (c: Buffer) => {
      seen += c;
      if (seen.includes('\n')) {
        child.stdout.off('data', onData);
        child.stdout.destroy();
        resolve();
      }
    };
    child.stdout.on('data', onData);
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on('close', (c, s) => resolve([c, s])),
  );
  clearTimeout(timer);
  assert.equal(signal, null, stderr);
  assert.equal(code, 141, `the child's SIGPIPE (128+13) passes through; stderr: ${stderr}`);
  assert.doesNotMatch(stderr, /EPIPE|internal error|Unhandled/i);
  assert.ok(
    bed.vault.log.entries.some(
      (e) => e.path === '/v1/sys/leases/revoke' || e.path === '/v1/auth/token/revoke-self',
    ),
    'the lease (or the token that owns it) is revoked as usual',
  );
});
