// The entry points as started in production: bin/secrun.js, the bundle, the executable
// ($SECRUN_BIN). Their first instruction already keeps SIGUSR1 from opening the inspector.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { collectOutput } from '../helpers/child-output.ts';
import {
  type Bed,
  BIN,
  FIXTURES,
  IS_EXECUTABLE,
  NODE,
  ROOT,
  runSecrun,
  secrunCommand,
  shebangFlags,
  startBed,
} from '../helpers/cli.ts';

let bed: Bed;
before(async () => {
  bed = await startBed();
});
after(() => bed.close());

/** A port on 127.0.0.1 nothing listens on (free when asked). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** 'open' if something accepts a connection on 127.0.0.1:port, else the error code. */
function probePort(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve('open');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
  });
}

/**
 * True when one of `pids` holds a socket listening on `port` (read from /proc): on the shared
 * default port 9229 a process of another test running at the same time must not count.
 */
function listensOn(pids: number[], port: number): boolean {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[3] === '0A' && Number.parseInt(f[1]?.split(':')[1] ?? '', 16) === port && f[9]) inodes.add(f[9]);
    }
  }
  for (const pid of pids) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m && inodes.has(m[1] ?? '')) return true;
      } catch {
        // closed meanwhile
      }
    }
  }
  return false;
}

interface Usr1Run {
  /** Ports that accepted a connection at any probe. */
  opened: number[];
  /** The process died of the signal (sent before Node handles it at all: the default action). */
  killedByUsr1: boolean;
  stderr: string;
}

/**
 * Starts `file argv`, sends SIGUSR1 `atMs` after the spawn, and probes `ports` until the child
 * command is up (or the process ended) and for 40 more probes after that; then stops it.
 */
async function usr1At(
  atMs: number,
  file: string,
  argv: string[],
  env: Record<string, string>,
  ports: number[],
) {
  const proc: ChildProcess = spawn(file, argv, { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = collectOutput(proc);
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  // 'exit', not 'close': the supervised child keeps the output pipes open until it is killed too.
  const done = new Promise<void>((resolve) =>
    proc.on('exit', (code, signal) => {
      exit = { code, signal };
      resolve();
    }),
  );
  const opened = new Set<number>();
  const probeAll = async (): Promise<void> => {
    for (const port of ports) {
      if ((await probePort(port)) !== 'open') continue;
      // 9229 is shared by every process on the machine, the supervised Node child included (a
      // forwarded SIGUSR1 opens its inspector as it would without secrun): count it only when
      // secrun itself listens there.
      if (port !== 9229 || listensOn([proc.pid ?? -1], port)) opened.add(port);
    }
  };
  try {
    await delay(atMs);
    if (exit === undefined) proc.kill('SIGUSR1');
    const deadline = Date.now() + 20_000;
    // A listening inspector stays open, so probing every few milliseconds misses nothing; a tight
    // loop only took the CPU the boot under test needs.
    while (exit === undefined && !/^ready \d+$/m.test(out.stdout()) && Date.now() < deadline) {
      await probeAll();
      await delay(10);
    }
    for (let i = 0; i < 40 && opened.size === 0; i++) {
      await probeAll();
      await delay(5);
    }
  } finally {
    proc.kill('SIGKILL');
    await done;
    const child = /^ready (\d+)$/m.exec(out.stdout())?.[1];
    if (child !== undefined) {
      try {
        process.kill(Number(child), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    proc.stdout?.destroy();
    proc.stderr?.destroy();
  }
  return {
    opened: [...opened],
    killedByUsr1: exit?.signal === 'SIGUSR1',
    stderr: out.stderr(),
  } satisfies Usr1Run;
}

// From before Node's own start-up (the signal's default action) to after secrun's listener.
const POINTS_MS = [0, 3, 6, 10, 15, 20, 25, 30, 40, 50, 60, 75, 90, 110, 130, 160, 190, 220, 260, 300];
// A loaded machine starts Node later, moving its start-up past the points above: these later
// points are only used when the ones above did not reach far enough into the boot.
const LATER_MS = [400, 500, 650, 800, 1000, 1300, 1600, 2000, 2500, 3000];

describe('SIGUSR1 from process start on', () => {
  test('when secrun runs without its entry flags then a SIGUSR1 early in the boot opens the inspector (control)', {
    timeout: 600_000,
  }, async () => {
    const port = await freePort();
    const env = {
      ...bed.env,
      API_KEY: 'vault:secret/app/api#key',
      NODE_OPTIONS: `--inspect-port=127.0.0.1:${port}`,
    };
    const argv = [
      `${ROOT}bin/secrun.js`,
      'run',
      '--mode',
      'supervise',
      '--',
      NODE,
      `${FIXTURES}print-signals.mjs`,
    ];
    const hits: number[] = [];
    for (const at of [...POINTS_MS, ...LATER_MS]) {
      const r = await usr1At(at, NODE, argv, env, [port]);
      if (r.opened.length > 0) {
        hits.push(at);
        break;
      }
    }
    assert.notDeepEqual(
      hits,
      [],
      'an unprotected start-up has a window in which SIGUSR1 opens the inspector',
    );
  });

  test(`when ${IS_EXECUTABLE ? 'the executable' : 'the entry script'} gets SIGUSR1 at any of ${POINTS_MS.length} points of its first 300 ms then no inspector port ever opens`, {
    timeout: 600_000,
  }, async (t) => {
    const port = await freePort();
    const ports = [port];
    if ((await probePort(9229)) !== 'open') ports.push(9229);
    else if (IS_EXECUTABLE) t.skip('port 9229 is in use on this machine; the executable would use it');
    const env = {
      ...bed.env,
      API_KEY: 'vault:secret/app/api#key',
      // A script's inspector would use this port; the executable ignores NODE_OPTIONS (9229).
      NODE_OPTIONS: `--inspect-port=127.0.0.1:${port}`,
    };
    const [file, argv] = secrunCommand([
      'run',
      '--mode',
      'supervise',
      '--drop',
      'NODE_OPTIONS',
      '--',
      NODE,
      // The child is a Node process too: a forwarded SIGUSR1 before its listener is installed
      // would open the child's own inspector (as it would without secrun); this test is about
      // secrun's, so the child's is turned off.
      '--disable-sigusr1',
      `${FIXTURES}print-signals.mjs`,
    ]);
    let survived = 0;
    const runPoints = async (all: readonly number[], enough: () => boolean): Promise<void> => {
      // Two at a time: each run lasts until its child is up.
      for (let i = 0; i < all.length && !enough(); i += 2) {
        const points = all.slice(i, i + 2);
        const runs = await Promise.all(points.map((at) => usr1At(at, file, argv, env, ports)));
        runs.forEach((r, j) => {
          assert.deepEqual(r.opened, [], `SIGUSR1 at ${points[j]} ms opened an inspector port`);
          assert.doesNotMatch(r.stderr, /Debugger listening/);
          if (!r.killedByUsr1) survived++;
        });
      }
    };
    await runPoints(POINTS_MS, () => false);
    // Most signals must reach a Node that installed its handler (before it, the default action
    // kills, which proves nothing about the guard); on a loaded machine later points make up for it.
    const wanted = POINTS_MS.length / 2;
    await runPoints(LATER_MS, () => survived >= wanted);
    assert.ok(survived >= wanted, `only ${survived} runs outlived the signal`);
  });

  test('when secrun execs the command then the command starts with SIGUSR1 unblocked', async () => {
    // --disable-sigusr1 would leave SIGUSR1 blocked, and an exec'd service inherits the mask.
    const r = await runSecrun(
      [
        'run',
        '--mode',
        'exec',
        '--',
        NODE,
        '-e',
        "process.stdout.write(require('fs').readFileSync('/proc/self/status','utf8'))",
      ],
      { ...bed.env, API_KEY: 'vault:secret/app/api#key' },
    );
    assert.equal(r.code, 0, r.stderr);
    const blocked = BigInt(`0x${/^SigBlk:\s*([0-9a-f]+)$/m.exec(r.stdout)?.[1] ?? 'ffffffffffffffff'}`);
    assert.equal(blocked & (1n << 9n), 0n, 'SIGUSR1 (10) is not blocked in the command');
  });
});

describe('entry points', () => {
  test('when secrun --version runs then it prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { version: string };
    const r = await runSecrun(['--version'], { PATH: bed.env['PATH'] ?? '' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), version);
  });

  test('when the entry is a script then its shebang line carries the inspector guard', () => {
    for (const file of [`${ROOT}bin/secrun.js`, ...(IS_EXECUTABLE ? [] : [BIN])]) {
      assert.match(readFileSync(file, 'utf8').split('\n', 1)[0] ?? '', /^#!\/usr\/bin\/env -S node /);
      assert.deepEqual(shebangFlags(file), ['--inspect-port=[100::]:9229'], file);
    }
  });

  test('when the executable gets NODE_OPTIONS then it ignores them', {
    skip: !IS_EXECUTABLE && 'scripts run on node, which reads NODE_OPTIONS',
  }, async () => {
    const r = await runSecrun(['--version'], {
      PATH: bed.env['PATH'] ?? '',
      NODE_OPTIONS: '--require=/nonexistent/secrun-test-hook.js',
    });
    assert.equal(r.code, 0, r.stderr);
  });
});
