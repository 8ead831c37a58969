import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { Transform } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../../src/base/log.ts';
import { resolveCommand } from '../../src/launch/exec.ts';
import { fdPath } from '../../src/launch/fd-files.ts';
import { closePipes, createPipes } from '../../src/launch/pipes.ts';
import { Supervisor, startChild } from '../../src/launch/supervisor.ts';
import { type OpensslDir, opensslDir } from '../helpers/openssl.ts';

const node = process.execPath;
const READER = fileURLToPath(new URL('../fixtures/read-files.mjs', import.meta.url));
const logger = createLogger({ level: 'silent', write: () => {} });
const sha = (v: string | Buffer): string => createHash('sha256').update(v).digest('hex');

function recorder(): { stream: () => Transform; text: () => string } {
  let text = '';
  return {
    stream: () =>
      new Transform({
        transform(chunk: Buffer, _enc, done) {
          text += chunk.toString();
          done();
        },
      }),
    text: () => text,
  };
}

const openFds = (): number => readdirSync('/proc/self/fd').length;
const lines = (text: string) =>
  text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('createPipes', () => {
  test('when pipes are created then each is a real pipe (not a socket) and the helper is gone', async () => {
    const pipes = await createPipes(2);
    try {
      for (const p of pipes) {
        assert.match(readlinkSync(`/proc/self/fd/${p.readFd}`), /^pipe:\[\d+\]$/);
        assert.equal(readlinkSync(`/proc/self/fd/${p.readFd}`), readlinkSync(`/proc/self/fd/${p.writeFd}`));
      }
      assert.notEqual(
        readlinkSync(`/proc/self/fd/${pipes[0]!.readFd}`),
        readlinkSync(`/proc/self/fd/${pipes[1]!.readFd}`),
      );
    } finally {
      closePipes(pipes);
    }
  });
});

describe('Supervisor with files', () => {
  test('when a child reads its files then it gets every byte, also past the 64 KiB pipe buffer, and a second read is empty', async () => {
    const small = `small-${randomBytes(8).toString('hex')}`;
    const big = randomBytes(700 * 1024).toString('base64');
    const out = recorder();
    const before = openFds();
    const exit = await startChild({
      file: node,
      args: [READER, 'SMALL,BIG'],
      env: { SMALL: fdPath(0), BIG: fdPath(1) },
      files: [small, big],
      output: () => ({ stdout: out.stream() }),
      logger,
      isTty: false,
    });
    assert.equal(exit.exitCode, 0);
    const [a, b] = lines(out.text());
    assert.deepEqual(
      [a?.['path'], a?.['length'], a?.['sha256'], a?.['second']],
      ['/dev/fd/3', small.length, sha(small), 0],
    );
    assert.deepEqual([b?.['path'], b?.['length'], b?.['sha256']], ['/dev/fd/4', big.length, sha(big)]);
    assert.equal(openFds(), before, 'no fd is left open');
  });

  test('when a child never reads a large file then the agent is not blocked and nothing leaks', async () => {
    const before = openFds();
    const started = Date.now();
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const exit = await startChild({
      file: node,
      args: ['-e', 'setTimeout(() => {}, 300)'],
      env: { KEY: fdPath(0) },
      files: [randomBytes(4 * 1024 * 1024)],
      logger,
      isTty: false,
    });
    clearInterval(timer);
    assert.equal(exit.exitCode, 0);
    assert.ok(ticks > 0, 'the event loop kept running while the write was pending');
    assert.ok(Date.now() - started < 20_000);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(openFds(), before, 'the write end was closed when the child exited');
  });

  test('when the child restarts then it gets fresh pipes with the new contents', async () => {
    const out = recorder();
    const s = new Supervisor({
      file: node,
      args: [READER, 'F'],
      env: { F: fdPath(0) },
      files: ['first'],
      output: () => ({ stdout: out.stream() }),
    });
    await s.prepare();
    s.start();
    await s.exited;
    await s.restart({ F: fdPath(0) }, ['second']);
    await s.exited;
    assert.deepEqual(
      lines(out.text()).map((l) => l['head']),
      ['first', 'second'],
    );
  });
});

describe('openssl reads a certificate from /dev/fd/N', () => {
  let ssl: OpensslDir;
  before(() => {
    ssl = opensslDir('secrun-fd-');
  });
  after(() => ssl.remove());

  test('when the certificate is a file value then openssl x509 -in /dev/fd/3 prints its subject', async () => {
    const { cert } = ssl.selfSigned('svc', 'payments.internal');
    const out = recorder();
    const exit = await startChild({
      file: resolveCommand('openssl', { path: `${process.env['PATH'] ?? ''}:/usr/bin:/bin` }),
      args: ['x509', '-in', fdPath(0), '-noout', '-subject'],
      env: { PATH: path.dirname(node) },
      files: [cert],
      output: () => ({ stdout: out.stream() }),
      logger,
      isTty: false,
    });
    assert.equal(exit.exitCode, 0);
    assert.match(out.text(), /subject=CN\s*=\s*payments\.internal/);
  });
});
