import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Transform } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../../src/base/log.ts';
import { resolveCommand } from '../../src/launch/exec.ts';
import { forwardedSignals } from '../../src/launch/signals.ts';
import {
  type ChildExit,
  forwardSignals,
  Supervisor,
  type SupervisorOptions,
  startChild,
} from '../../src/launch/supervisor.ts';
import { collectOutput } from '../helpers/child-output.ts';
import { until } from '../helpers/poll.ts';

const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));
const node = process.execPath;
const fixture = (name: string): string => path.join(fixtures, name);
const childEnv = { PATH: path.dirname(node), SECRUN_CHILD: 'yes' };

/** A transform that records the child's output and passes nothing on (keeps the test output clean). */
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

function findUnshare(): string | undefined {
  try {
    return resolveCommand('unshare', { path: `${process.env['PATH'] ?? ''}:/usr/bin:/bin` });
  } catch {
    return undefined;
  }
}

const lines = (text: string): string[] => text.split('\n').filter((l) => l !== '');

interface Harness {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves when the harness has exited; rejects after a generous deadline. */
  closed: () => Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts supervise-harness.ts (a separate supervising process); killed after the test if still alive. */
function startHarness(
  t: { after: (fn: () => void) => void },
  opts: Record<string, unknown>,
  extra: { prefix?: string[]; env?: Record<string, string> } = {},
): Harness {
  const argv = [...(extra.prefix ?? []), node, fixture('supervise-harness.ts'), JSON.stringify(opts)];
  const [cmd, ...args] = argv as [string, ...string[]];
  const child = spawn(cmd, args, { env: extra.env ?? childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const { stdout, stderr } = collectOutput(child);
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    // A failed test may leave the supervised grandchild behind (inside unshare the pid is not ours).
    const started = /^CHILD (\d+)$/m.exec(stderr());
    if (started?.[1] !== undefined && extra.prefix === undefined) killIfFixture(Number(started[1]));
  });
  const closedWithin = async (timeoutMs = 20_000) => {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`harness still running after ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([closed, deadline]);
    } finally {
      clearTimeout(timer);
    }
  };
  return { child, stdout, stderr, closed: closedWithin };
}

function killIfFixture(pid: number): void {
  try {
    if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(fixtures)) process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** True while `pid` runs (a zombie counts as gone). */
function isAlive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

function harnessResult(stderr: string): ChildExit {
  const line = lines(stderr).find((l) => l.startsWith('RESULT '));
  assert.ok(line, `no RESULT line in harness stderr:\n${stderr}`);
  return JSON.parse(line.slice('RESULT '.length)) as ChildExit;
}

/** The signals the child printed, without its `ready` line. */
const received = (h: Harness): string[] => lines(h.stdout()).filter((l) => !l.startsWith('ready '));

/** Starts the harness on a fixture (with `childEnv`) and waits until the child prints `ready`. */
async function startReady(
  t: { after: (fn: () => void) => void },
  [name, ...args]: [string, ...string[]],
  opts: Record<string, unknown>,
  extra: { prefix?: string[] } = {},
): Promise<Harness> {
  const h = startHarness(t, { file: node, args: [fixture(name), ...args], env: childEnv, ...opts }, extra);
  await until('the child to be ready', () => h.stdout().includes('ready '));
  return h;
}

/** Sends `signal` to the harness and asserts how it exits (with its stderr as the message by default). */
async function signalAndExpectExit(h: Harness, signal: NodeJS.Signals, code: number, message?: string) {
  h.child.kill(signal);
  const closed = await h.closed();
  assert.deepEqual(closed, { code, signal: null }, message ?? h.stderr());
}

describe('startChild (in a separate supervising process)', () => {
  for (const code of [0, 1, 2, 42, 127, 255]) {
    test(`when the child exits ${code} then the supervisor exits ${code}`, async (t) => {
      const h = startHarness(t, { file: node, args: [fixture('exit-with.mjs'), `${code}`], env: childEnv });
      const closed = await h.closed();
      assert.deepEqual(closed, { code, signal: null });
      assert.deepEqual(harnessResult(h.stderr()), {
        code,
        signal: null,
        exitCode: code,
        stopped: false,
        forced: false,
      });
    });
  }

  for (const [signal, expected] of [
    ['SIGTERM', 143],
    ['SIGKILL', 137],
    ['SIGSEGV', 139],
  ] as const) {
    test(`when the child dies by ${signal} then the supervisor exits ${expected}`, async (t) => {
      const h = startHarness(t, { file: node, args: [fixture('kill-self.mjs'), signal], env: childEnv });
      const closed = await h.closed();
      assert.deepEqual(closed, { code: expected, signal: null });
      const result = harnessResult(h.stderr());
      assert.equal(result.signal, signal);
      assert.equal(result.code, null);
      assert.equal(result.exitCode, expected);
    });
  }

  test('when each forwarded signal is sent to the supervisor then the child gets it exactly once', async (t) => {
    const h = await startReady(t, ['print-signals.mjs', 'SIGTERM', 'reraise'], { isTty: false });
    const order = forwardedSignals.filter((s) => s !== 'SIGTERM');
    for (const sig of order) {
      h.child.kill(sig);
      await until(`the child to print ${sig}`, () => lines(h.stdout()).includes(sig));
    }
    await signalAndExpectExit(h, 'SIGTERM', 143);
    assert.deepEqual(received(h), [...order, 'SIGTERM']);
  });

  test('when stdin is a TTY then SIGINT, SIGQUIT and SIGWINCH are not forwarded a second time', async (t) => {
    const h = await startReady(t, ['print-signals.mjs', 'SIGTERM', 'reraise'], { isTty: true });
    for (const sig of ['SIGINT', 'SIGQUIT', 'SIGWINCH', 'SIGUSR2'] as const) h.child.kill(sig);
    await until('the child to print SIGUSR2', () => lines(h.stdout()).includes('SIGUSR2'));
    await signalAndExpectExit(h, 'SIGTERM', 143, 'the supervisor survived INT/QUIT and reported TERM');
    assert.deepEqual(received(h), ['SIGUSR2', 'SIGTERM']);
  });

  test('when the supervisor has a canary in its env then the child gets exactly the env passed', async (t) => {
    const h = startHarness(
      t,
      { file: node, args: [fixture('print-env.mjs')], env: childEnv },
      { env: { ...childEnv, SECRUN_CANARY: 'canary-must-not-leak' } },
    );
    const closed = await h.closed();
    assert.equal(closed.code, 0, h.stderr());
    const printed = JSON.parse(h.stdout()) as { pid: number; env: Record<string, string> };
    assert.deepEqual(printed.env, childEnv);
    assert.notEqual(printed.pid, h.child.pid);
  });

  test('when the supervisor crashes then its live child gets the stop signal', async (t) => {
    const h = startHarness(t, {
      file: node,
      args: [fixture('print-signals.mjs'), 'SIGTERM', 'reraise'],
      env: childEnv,
      crashOnStart: true,
    });
    const closed = await h.closed();
    assert.equal(closed.code, 1, 'an uncaught error exits 1');
    const pid = Number(/^CHILD (\d+)$/m.exec(h.stderr())?.[1]);
    assert.ok(pid > 0, h.stderr());
    await until('the orphaned child to be gone', () => !isAlive(pid));
  });

  describe('kill timeout after the supervisor is told to stop', () => {
    const killLines = (stderr: string): string[] => lines(stderr).filter((l) => l.includes('sent SIGKILL'));

    test('when the child ignores SIGTERM then it gets SIGKILL after the kill timeout and the supervisor exits 137', async (t) => {
      const h = await startReady(t, ['print-signals.mjs', 'SIGTERM', 'ignore'], {
        isTty: false,
        killTimeoutMs: 300,
      });
      const sentAt = Date.now();
      await signalAndExpectExit(h, 'SIGTERM', 137);
      const elapsed = Date.now() - sentAt;
      assert.ok(elapsed >= 250, `SIGKILL came after the kill timeout, not at once (${elapsed} ms)`);
      const result = harnessResult(h.stderr());
      assert.deepEqual(result, {
        code: null,
        signal: 'SIGKILL',
        exitCode: 137,
        stopped: false,
        forced: true,
      });
      const pid = /^CHILD (\d+)$/m.exec(h.stderr())?.[1];
      assert.deepEqual(killLines(h.stderr()), [
        `secrun: warn: child did not exit within 300ms of SIGTERM; sent SIGKILL pid=${pid}`,
      ]);
      assert.deepEqual(received(h), ['SIGTERM'], 'SIGTERM was forwarded once, before SIGKILL');
    });

    test('when the child dies by SIGTERM then it is not killed, 143 passes through and no timer is left', async (t) => {
      // naturalExit: a kill timer still armed would keep the harness alive for a minute.
      const h = await startReady(t, ['print-signals.mjs', 'SIGTERM', 'reraise'], {
        isTty: false,
        killTimeoutMs: 60_000,
        naturalExit: true,
      });
      await signalAndExpectExit(h, 'SIGTERM', 143);
      const result = harnessResult(h.stderr());
      assert.deepEqual(result, {
        code: null,
        signal: 'SIGTERM',
        exitCode: 143,
        stopped: false,
        forced: false,
      });
      assert.deepEqual(killLines(h.stderr()), []);
    });

    test('when the child exits with its own code within the kill timeout then that code passes through', async (t) => {
      const h = await startReady(t, ['exit-after-signal.mjs', 'SIGTERM', '200', '7'], {
        isTty: false,
        killTimeoutMs: 10_000,
      });
      await signalAndExpectExit(h, 'SIGTERM', 7);
      assert.equal(harnessResult(h.stderr()).forced, false);
      assert.deepEqual(killLines(h.stderr()), []);
    });

    test('when the supervisor gets SIGHUP then the kill timer does not start', async (t) => {
      // The child exits 0 one second after SIGHUP; a timer started by SIGHUP would kill it at 200 ms.
      const h = await startReady(t, ['exit-after-signal.mjs', 'SIGHUP', '1000', '0'], {
        isTty: false,
        killTimeoutMs: 200,
      });
      await signalAndExpectExit(h, 'SIGHUP', 0);
      assert.deepEqual(received(h), ['SIGHUP']);
      assert.deepEqual(killLines(h.stderr()), []);
    });

    test('when a second terminating signal comes within the kill timeout then it is forwarded too', async (t) => {
      const h = await startReady(t, ['print-signals.mjs', 'SIGINT', 'reraise'], {
        isTty: false,
        killTimeoutMs: 30_000,
      });
      h.child.kill('SIGTERM');
      await until('the child to print SIGTERM', () => received(h).includes('SIGTERM'));
      await signalAndExpectExit(h, 'SIGINT', 130);
      assert.deepEqual(received(h), ['SIGTERM', 'SIGINT']);
      assert.equal(harnessResult(h.stderr()).forced, false);
    });

    test('when stdin is a TTY then SIGINT is not forwarded but still starts the kill timer', async (t) => {
      const h = await startReady(t, ['print-signals.mjs', 'SIGTERM', 'reraise'], {
        isTty: true,
        killTimeoutMs: 300,
      });
      await signalAndExpectExit(h, 'SIGINT', 137);
      assert.deepEqual(received(h), [], 'SIGINT was not delivered a second time');
      assert.equal(killLines(h.stderr()).length, 1, h.stderr());
      assert.match(killLines(h.stderr())[0]!, /within 300ms of SIGINT; sent SIGKILL/);
    });
  });

  const unshare = findUnshare();
  const unshareWorks =
    unshare !== undefined &&
    process.getuid?.() === 0 &&
    spawnSync(unshare, ['--fork', '--pid', '--mount-proc', 'true'], { stdio: 'ignore' }).status === 0;
  test('when the supervisor is PID 1 then SIGTERM reaches the child and it exits 143', {
    skip: unshareWorks ? false : 'needs root and a working `unshare --fork --pid --mount-proc`',
  }, async (t) => {
    const h = await startReady(
      t,
      ['print-signals.mjs', 'SIGTERM', 'reraise'],
      { isTty: false },
      { prefix: [unshare!, '--fork', '--pid', '--mount-proc', '--kill-child'] },
    );
    const unsharePid = h.child.pid!;
    const childrenFile = `/proc/${unsharePid}/task/${unsharePid}/children`;
    const harnessPid = Number(readFileSync(childrenFile, 'utf8').trim().split(/\s+/)[0]);
    assert.ok(harnessPid > 0, 'found the host pid of the namespace init');
    const status = readFileSync(`/proc/${harnessPid}/status`, 'utf8');
    assert.match(status, /^NSpid:\s+\d+\s+1$/m, 'the harness is PID 1 in its namespace');
    process.kill(harnessPid, 'SIGTERM');
    const closed = await h.closed();
    assert.deepEqual(closed, { code: 143, signal: null }, h.stderr());
    assert.match(h.stderr(), /warn: running as PID 1: orphaned processes will not be reaped/);
    assert.deepEqual(received(h), ['SIGTERM']);
  });
});

describe('startChild (in this process)', () => {
  test('when not PID 1 then nothing is logged and the exit is returned', async () => {
    const logged: string[] = [];
    const logger = createLogger({ write: (l) => logged.push(l) });
    const exit = await startChild({
      file: node,
      args: [fixture('exit-with.mjs'), '3'],
      env: childEnv,
      logger,
      isTty: false,
    });
    assert.equal(exit.exitCode, 3);
    assert.deepEqual(logged, []);
  });

  test('when the child has exited then the signal listeners are removed', async () => {
    const before = forwardedSignals.map((s) => process.listenerCount(s));
    const counts: number[][] = [];
    await startChild({
      file: node,
      args: [fixture('exit-with.mjs'), '0'],
      env: childEnv,
      logger: createLogger({ level: 'silent' }),
      isTty: false,
      onSupervisor: (s) =>
        s.on('start', () => counts.push(forwardedSignals.map((x) => process.listenerCount(x)))),
    });
    assert.ok(
      counts[0]?.every((n, i) => n > before[i]!),
      'every forwarded signal had a listener while the child ran',
    );
    assert.deepEqual(
      forwardedSignals.map((s) => process.listenerCount(s)),
      before,
    );
  });
});

describe('forwardSignals', () => {
  // node --test starts test files with --report-on-signal on (Node 24): SIGUSR2 would write a report.
  const reportOnSignal = process.report.reportOnSignal;
  before(() => {
    process.report.reportOnSignal = false;
  });
  after(() => {
    process.report.reportOnSignal = reportOnSignal;
  });

  test('when a forwarded signal hits this process then the target gets it once', async () => {
    const got: NodeJS.Signals[] = [];
    const dispose = forwardSignals({ signal: (s) => got.push(s) > 0 }, { isTty: false });
    try {
      for (const sig of forwardedSignals) {
        process.kill(process.pid, sig);
        await until(`${sig} to be forwarded`, () => got.includes(sig));
      }
      process.kill(process.pid, 'SIGUSR2');
      await until('the last SIGUSR2', () => got.length === forwardedSignals.length + 1);
      assert.deepEqual(got, [...forwardedSignals, 'SIGUSR2']);
    } finally {
      dispose();
    }
  });

  test('when on a TTY then terminal signals are caught but not forwarded', async () => {
    const got: NodeJS.Signals[] = [];
    const dispose = forwardSignals({ signal: (s) => got.push(s) > 0 }, { isTty: true });
    try {
      process.kill(process.pid, 'SIGINT');
      process.kill(process.pid, 'SIGQUIT');
      process.kill(process.pid, 'SIGWINCH');
      process.kill(process.pid, 'SIGHUP');
      await until('SIGHUP to be forwarded', () => got.includes('SIGHUP'));
      assert.deepEqual(got, ['SIGHUP']);
    } finally {
      dispose();
    }
  });

  test('when on a TTY then every terminating signal reaches onTerminate, forwarded or not', async () => {
    const seen: string[] = [];
    const dispose = forwardSignals(
      { signal: (s) => seen.push(`forward ${s}`) > 0 },
      { isTty: true, onTerminate: (s) => seen.push(`terminate ${s}`) },
    );
    try {
      for (const [sig, last] of [
        ['SIGINT', 'terminate SIGINT'],
        ['SIGHUP', 'forward SIGHUP'],
        ['SIGQUIT', 'terminate SIGQUIT'],
        ['SIGUSR2', 'forward SIGUSR2'],
        ['SIGTERM', 'terminate SIGTERM'],
      ] as const) {
        process.kill(process.pid, sig);
        await until(`${sig} to be handled`, () => seen.includes(last));
      }
      assert.deepEqual(seen, [
        'terminate SIGINT',
        'forward SIGHUP',
        'terminate SIGQUIT',
        'forward SIGUSR2',
        'forward SIGTERM',
        'terminate SIGTERM',
      ]);
    } finally {
      dispose();
    }
  });

  test('when disposed then its listeners are gone', () => {
    const before = forwardedSignals.map((s) => process.listenerCount(s));
    const dispose = forwardSignals({ signal: () => true }, { isTty: false });
    assert.deepEqual(
      forwardedSignals.map((s) => process.listenerCount(s)),
      before.map((n) => n + 1),
    );
    dispose();
    dispose();
    assert.deepEqual(
      forwardedSignals.map((s) => process.listenerCount(s)),
      before,
    );
  });
});

describe('Supervisor', () => {
  /** A Supervisor (not yet started) on a fixture, whose stdout is recorded in `out`. */
  function recordedSupervisor(
    [name, ...args]: [string, ...string[]],
    opts: Omit<SupervisorOptions, 'file' | 'args' | 'output'>,
  ): { sup: Supervisor; out: ReturnType<typeof recorder> } {
    const out = recorder();
    const sup = new Supervisor({
      file: node,
      args: [fixture(name), ...args],
      ...opts,
      output: () => ({ stdout: out.stream() }),
    });
    return { sup, out };
  }

  test('when the program does not exist then the exit is 127 and no start is reported', async () => {
    const sup = new Supervisor({ file: '/nonexistent/secrun-test', env: {} });
    const starts: number[] = [];
    sup.on('start', (pid) => starts.push(pid));
    sup.start();
    const exit = await sup.exited;
    assert.equal(exit.exitCode, 127);
    assert.equal(exit.spawnError, 'ENOENT');
    assert.deepEqual(starts, []);
    assert.equal(sup.running, false);
  });

  test('when supervise mode cannot start the program then it says why, never a bare 126/127', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', write: (l) => lines.push(l) });
    const exit = await startChild({
      file: '/nonexistent/secrun-test',
      argv0: 'my-service',
      env: {},
      logger,
      isTty: false,
    });
    assert.equal(exit.exitCode, 127);
    assert.match(
      lines.join(''),
      /could not start my-service: no such file, or its #! interpreter is missing \(ENOENT\); exit 127/,
    );
  });

  test('when the program is not executable then the exit is 126', async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'secrun-sup-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'plain');
    writeFileSync(file, 'data\n', { mode: 0o644 });
    const sup = new Supervisor({ file, env: {} });
    sup.start();
    const exit = await sup.exited;
    assert.equal(exit.exitCode, 126);
    assert.equal(exit.spawnError, 'EACCES');
  });

  test('when a child ignores the stop signal then it is killed after the kill timeout as a deliberate stop', async (t) => {
    const { sup, out } = recordedSupervisor(['print-signals.mjs', 'SIGTERM', 'ignore'], {
      env: childEnv,
      killTimeoutMs: 300,
    });
    const exits: ChildExit[] = [];
    sup.on('exit', (e) => exits.push(e));
    sup.start();
    t.after(() => sup.signal('SIGKILL'));
    await until('the child to be ready', () => out.text().includes('ready '));
    const exit = await sup.stop();
    assert.deepEqual(exit, { code: null, signal: 'SIGKILL', exitCode: 137, stopped: true, forced: true });
    assert.deepEqual(exits, [exit]);
    assert.ok(lines(out.text()).includes('SIGTERM'), 'the stop signal was sent before SIGKILL');
    assert.equal(await sup.stop(), exit, 'stopping again returns the same exit');
  });

  test('when a child honours the stop signal then the exit is a stop, not a crash, and not forced', async () => {
    const { sup, out } = recordedSupervisor(['print-signals.mjs', 'SIGUSR2', 'exit'], {
      env: childEnv,
      stopSignal: 'SIGUSR2',
      killTimeoutMs: 30_000,
    });
    sup.start();
    await until('the child to be ready', () => out.text().includes('ready '));
    const exit = await sup.stop();
    assert.deepEqual(exit, { code: 0, signal: null, exitCode: 0, stopped: true, forced: false });
    assert.deepEqual(
      lines(out.text()).filter((l) => !l.startsWith('ready ')),
      ['SIGUSR2'],
    );
  });

  test('when restarted then a new child has a new pid and the new env, and wait() follows it', async (t) => {
    const envA = { ...childEnv, GENERATION: 'a' };
    const envB = { ...childEnv, GENERATION: 'b', ONLY_IN_B: '1' };
    const { sup, out } = recordedSupervisor(['print-env.mjs', 'wait'], { env: envA, killTimeoutMs: 5000 });
    const starts: number[] = [];
    sup.on('start', (pid) => starts.push(pid));
    const printed = () =>
      lines(out.text()).map((l) => JSON.parse(l) as { pid: number; env: Record<string, string> });
    sup.start();
    t.after(() => sup.signal('SIGKILL'));
    const waited = sup.wait();
    await until('the first child to print', () => printed().length === 1);
    const previous = await sup.restart(envB);
    assert.equal(previous.stopped, true);
    assert.equal(previous.exitCode, 143);
    await until('the second child to print', () => printed().length === 2);
    const [first, second] = printed() as [{ pid: number; env: object }, { pid: number; env: object }];
    assert.deepEqual(first.env, envA);
    assert.deepEqual(second.env, envB);
    assert.notEqual(second.pid, first.pid);
    assert.deepEqual(starts, [first.pid, second.pid]);
    assert.equal(sup.pid, second.pid);
    sup.signal('SIGTERM');
    const final = await waited;
    assert.deepEqual(final, { code: null, signal: 'SIGTERM', exitCode: 143, stopped: false, forced: false });
  });

  test('when shut down while a restart stops the child then no new child is started', async (t) => {
    const { sup, out } = recordedSupervisor(['print-signals.mjs', 'SIGTERM', 'ignore'], {
      env: childEnv,
      killTimeoutMs: 300,
    });
    const starts: number[] = [];
    sup.on('start', (pid) => starts.push(pid));
    sup.start();
    t.after(() => sup.signal('SIGKILL'));
    const waited = sup.wait();
    await until('the child to be ready', () => out.text().includes('ready '));
    const restarting = sup.restart({ ...childEnv, GENERATION: 'b' });
    await until('the restart to send the stop signal', () => lines(out.text()).includes('SIGTERM'));
    sup.shutDown();
    const previous = await restarting;
    assert.deepEqual(previous, { code: null, signal: 'SIGKILL', exitCode: 137, stopped: true, forced: true });
    assert.equal(starts.length, 1, 'no second child');
    assert.equal(sup.running, false);
    assert.equal(await waited, previous, 'wait() ends with the stopped child');
  });

  test('when this process has a canary env var then the child does not see it', async (t) => {
    process.env['SECRUN_CANARY_SUP'] = 'canary-must-not-leak';
    t.after(() => delete process.env['SECRUN_CANARY_SUP']);
    const { sup, out } = recordedSupervisor(['print-env.mjs'], { env: childEnv });
    sup.start();
    const exit = await sup.exited;
    assert.equal(exit.exitCode, 0);
    const printed = JSON.parse(out.text()) as { env: Record<string, string> };
    assert.deepEqual(printed.env, childEnv);
  });
});
