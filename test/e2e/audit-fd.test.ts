import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, beforeEach, test } from 'node:test';
import { type Bed, FIXTURES, NODE, runSecrun, secrunCommand, startBed } from '../helpers/cli.ts';

let bed: Bed;
before(async () => {
  bed = await startBed();
});
after(async () => {
  await bed.close();
});
beforeEach(() => bed.vault.log.clear());

const env = () => ({ ...bed.env, DB_PASSWORD: 'vault:secret/app/db#password' });

test('when --audit names a descriptor secrun did not inherit (Node opens its own epoll, eventfd, sockets there) then 64 comes before any request', async () => {
  for (const fd of [3, 4, 5, 6, 9]) {
    const r = await runSecrun(['run', '--audit', `fd:${fd}`, '--', NODE, `${FIXTURES}print-env.mjs`], env());
    assert.equal(r.code, 64, `fd:${fd}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`file descriptor ${fd} was not passed to secrun`));
    assert.equal(bed.vault.log.entries.length, 0, `fd:${fd}: no request`);
  }
});

test('when --audit names a descriptor the parent passed then the audit lines go there', async () => {
  const child = spawn(...secrunCommand(['run', '--audit', 'fd:3', '--', NODE, `${FIXTURES}print-env.mjs`]), {
    env: env(),
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  });
  const audit: Buffer[] = [];
  (child.stdio[3] as NodeJS.ReadableStream).on('data', (c: Buffer) => audit.push(c));
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c;
  });
  child.stdout?.resume();
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  assert.equal(code, 0, stderr);
  const events = Buffer.concat(audit)
    .toString('utf8')
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { event: string }).event);
  assert.ok(events.includes('secret.read'), events.join(','));
  assert.ok(events.includes('child.start'), events.join(','));
});
