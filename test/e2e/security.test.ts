// Black-box security tests: the real CLI against both dev servers seeded with canary secrets
// (reliability-security.md sections 2 and 4). Every check has a positive control where one is
// possible, so a broken harness fails instead of passing quietly.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type ChildOutput, collectOutput } from '../helpers/child-output.ts';
import {
  type Bed,
  BIN,
  FIXTURES,
  IS_EXECUTABLE,
  NODE,
  ROOT,
  runSecrun,
  secrunCommand,
  startBed,
} from '../helpers/cli.ts';
import { waitFor } from '../helpers/poll.ts';

let bed: Bed;
const tmpDirs: string[] = [];
const running = new Set<Started>();

before(async () => {
  bed = await startBed();
});
after(async () => {
  for (const s of running) s.stop();
  await bed.close();
  for (const dir of tmpDirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(label: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), `secrun-security-${label}-`));
  tmpDirs.push(dir);
  return dir;
}

// ---------------------------------------------------------------------------------------------
// Canaries and their encodings (section 4: register base64, JSON and URL encodings too).

/** The forms a value may take in output: as is, URL- and JSON-escaped, base64 at every alignment. */
function encodings(value: string): string[] {
  const out = new Set<string>([value, encodeURIComponent(value), JSON.stringify(value).slice(1, -1)]);
  for (const shift of [0, 1, 2]) {
    const b64 = Buffer.concat([Buffer.alloc(shift), Buffer.from(value)]).toString('base64');
    // The first group mixes in the unknown preceding bytes, the last one the following bytes.
    const core = b64.slice(shift === 0 ? 0 : 4, -4);
    if (core.length >= 12) {
      out.add(core);
      out.add(core.replaceAll('+', '-').replaceAll('/', '_'));
    }
  }
  return [...out];
}

/** Names of the values found, in any encoding, in any of the texts. */
function leaks(values: Record<string, string>, ...texts: string[]): string[] {
  const found: string[] = [];
  for (const [name, value] of Object.entries(values)) {
    if (encodings(value).some((e) => texts.some((t) => t.includes(e)))) found.push(name);
  }
  return found;
}

/** One canary of the bed by name. */
function c(name: string): string {
  const value = bed.canaries[name];
  if (value === undefined) throw new Error(`no canary ${name}`);
  return value;
}

/** Every canary of the bed plus the agent's AWS secret key. */
function allSecrets(): Record<string, string> {
  return { ...bed.canaries, awsSecretKey: bed.env['AWS_SECRET_ACCESS_KEY'] ?? '' };
}

/** The secret values only (not the agent's own credentials, which it is given in its environment). */
function secretValues(): Record<string, string> {
  const { token: _token, ...rest } = bed.canaries;
  return rest;
}

// ---------------------------------------------------------------------------------------------
// Processes

interface Started {
  proc: ChildProcess;
  pid: number;
  out: ChildOutput;
  exited: () => boolean;
  /** Kills the process and the child it reported (which may hold its output pipes open). */
  stop: () => void;
  /** Set by {@link waitReady}. */
  childPid?: number;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns a program with exactly `env` and collects its output as it comes; killed after the file. */
function start(file: string, args: string[], env: Record<string, string>, cwd = ROOT): Started {
  const proc = spawn(file, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = collectOutput(proc);
  let hasExited = false;
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    proc.on('error', reject);
    proc.on('close', (code, signal) => {
      hasExited = true;
      running.delete(started);
      resolve({ code, signal });
    });
  });
  assert.ok(proc.pid !== undefined, `spawn ${file} failed`);
  const started: Started = {
    proc,
    pid: proc.pid,
    out,
    exited: () => hasExited,
    done,
    stop() {
      proc.kill('SIGKILL');
      if (started.childPid !== undefined) {
        try {
          process.kill(started.childPid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      proc.stdout?.destroy();
      proc.stderr?.destroy();
    },
  };
  running.add(started);
  return started;
}

/** secrun's whole command line. */
function secrunArgv(args: string[]): string[] {
  const [file, argv] = secrunCommand(args);
  return [file, ...argv];
}

function startSecrun(args: string[], env: Record<string, string>, cwd = ROOT): Started {
  return start(...secrunCommand(args), env, cwd);
}

/** Polls `probe` until it returns a value or the deadline passes. */
/** Waits for print-signals.mjs's "ready <pid>" line; fails early if the process ended. */
function waitReady(s: Started): Promise<number> {
  return waitFor('the child to be ready', () => {
    const m = /^ready (\d+)$/m.exec(s.out.stdout());
    if (m) {
      s.childPid = Number(m[1]);
      return s.childPid;
    }
    if (s.exited()) throw new Error(`exited before ready:\n${s.out.stdout()}\n${s.out.stderr()}`);
    return undefined;
  });
}

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

const printSignals = [NODE, `${FIXTURES}print-signals.mjs`];

// ---------------------------------------------------------------------------------------------
// 1. Nothing written to disk (strace)

const tracedCalls = [
  'open',
  'openat',
  'openat2',
  'creat',
  'rename',
  'renameat',
  'renameat2',
  'unlink',
  'unlinkat',
  'rmdir',
  'mkdir',
  'mkdirat',
  'truncate',
  'ftruncate',
  'link',
  'linkat',
  'symlink',
  'symlinkat',
];

/** Why strace cannot be used here, or undefined when it can. */
function straceUnusable(): string | undefined {
  const r = spawnSync('strace', ['-f', '-qq', '-o', '/dev/null', 'true'], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return 'strace is not installed';
  if (r.error) return `strace could not run: ${r.error.message}`;
  if (r.status !== 0) return `strace cannot trace here (ptrace not permitted?): ${r.stderr.trim()}`;
  return undefined;
}
const straceSkip = straceUnusable();

interface TraceReport {
  /** Successful traced calls seen (a sanity floor: an empty trace proves nothing). */
  calls: number;
  /** Every path the traced processes opened, read-only or not. */
  opened: string[];
  /** The offending lines: writes, renames, removals, creations outside /dev and /proc. */
  writes: string[];
}

function allowedPath(p: string, ignore: readonly string[]): boolean {
  if (ignore.includes(p)) return true;
  if (p.startsWith('/proc/')) return true;
  // /dev/null, /dev/tty, /dev/pts/*, /dev/urandom: not storage. /dev/shm is a file system.
  return p.startsWith('/dev/') && !p.startsWith('/dev/shm/');
}

const writeFlags = /\bO_(?:WRONLY|RDWR|CREAT|TRUNC|TMPFILE)\b/;

/**
 * Reads an `strace -f -y -e status=successful` log: flags opens for writing and every rename,
 * unlink, mkdir, truncate and link outside /dev and /proc. Split lines (`<unfinished ...>` and
 * `<... resumed>`) are joined per pid.
 */
function analyseTrace(text: string, ignore: readonly string[] = []): TraceReport {
  const pending = new Map<string, string>();
  const report: TraceReport = { calls: 0, opened: [], writes: [] };
  for (const raw of text.split('\n')) {
    let line = raw.trim();
    if (line === '') continue;
    const pidMatch = /^(\d+)\s+(.*)$/.exec(line);
    const pid = pidMatch?.[1] ?? '';
    let body = pidMatch?.[2] ?? line;
    const unfinished = /^(.*?)\s*<unfinished \.\.\.>$/.exec(body);
    if (unfinished) {
      pending.set(pid, unfinished[1] ?? '');
      continue;
    }
    const resumed = /^<\.\.\. \w+ resumed>(.*)$/.exec(body);
    if (resumed) {
      body = `${pending.get(pid) ?? ''}${resumed[1] ?? ''}`;
      pending.delete(pid);
    }
    line = body;
    const call = /^(\w+)\((.*)\)\s+=\s+(\S+)/.exec(line);
    if (!call) continue;
    const name = call[1] ?? '';
    const args = call[2] ?? '';
    if (!tracedCalls.includes(name) || (call[3] ?? '').startsWith('-')) continue;
    report.calls++;
    // Paths: quoted strings, made absolute with the directory fd's `<path>` annotation (-y).
    const dirfd = /^(?:AT_FDCWD|\d+)<([^>]*)>/.exec(args)?.[1];
    const quoted = [...args.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1] ?? '');
    const paths = quoted.map((p) => (p.startsWith('/') || dirfd === undefined ? p : path.join(dirfd, p)));
    if (name === 'ftruncate') paths.push(/^\d+<([^>]*)>/.exec(args)?.[1] ?? `fd ${args}`);
    const isOpen = name === 'open' || name === 'openat' || name === 'openat2';
    if (isOpen) report.opened.push(...paths.slice(0, 1));
    const writes = name === 'creat' || !isOpen || writeFlags.test(args);
    if (writes && paths.some((p) => !allowedPath(p, ignore))) report.writes.push(`${pid} ${line}`);
  }
  return report;
}

interface Traced {
  code: number | null;
  stdout: string;
  stderr: string;
  trace: TraceReport;
}

/** Runs `argv` under strace with exactly `env` and analyses what it did to the file system. */
async function traced(argv: string[], env: Record<string, string>): Promise<Traced> {
  const dir = tempDir('strace');
  const log = path.join(dir, 'trace.log');
  const s = start(
    'strace',
    [
      '-f',
      '-qq',
      '-y',
      '-e',
      'signal=none',
      '-e',
      `trace=${tracedCalls.join(',')}`,
      '-e',
      'status=successful',
      '-o',
      log,
      '--',
      ...argv,
    ],
    env,
  );
  const { code } = await s.done;
  const trace = analyseTrace(readFileSync(log, 'utf8'), [log]);
  return { code, stdout: s.out.stdout(), stderr: s.out.stderr(), trace };
}

/** Whether secrun's own code was read in the trace: the sources, the bundle or the executable. */
function coversSecrun(opened: string[]): boolean {
  return opened.some((p) => p.endsWith('/src/cli.ts') || p === BIN);
}

/** A child that writes nothing and exits 0 only if both secrets were injected. */
const quietChild = [
  NODE,
  '-e',
  "process.exit(process.env.API_KEY?.startsWith('canary-api-') && process.env.STRIPE?.startsWith('canary-stripe-') ? 0 : 3)",
];

describe('secrun writes nothing to disk', { skip: straceSkip ?? false }, () => {
  const refs = (): Record<string, string> => ({
    ...bed.env,
    API_KEY: 'vault:secret/app/api#key',
    STRIPE: 'awssm:prod/stripe#api_key',
  });

  test('when a program writes, renames, creates and removes files then the strace harness reports each (control)', async () => {
    const dir = tempDir('control');
    const script = [
      "const fs = require('node:fs');",
      `const d = ${JSON.stringify(dir)};`,
      "fs.writeFileSync(d + '/a', 'x');",
      "fs.renameSync(d + '/a', d + '/b');",
      "fs.mkdirSync(d + '/c');",
      "fs.rmdirSync(d + '/c');",
      "fs.unlinkSync(d + '/b');",
      "fs.readFileSync('/etc/hostname');",
    ].join('\n');
    const r = await traced([NODE, '-e', script], { PATH: bed.env['PATH'] ?? '' });
    assert.equal(r.code, 0, r.stderr);
    const { writes } = r.trace;
    const has = (re: RegExp): boolean => writes.some((w) => re.test(w));
    assert.ok(has(/open(at)?\(.*\/a".*O_WRONLY/), `the write is reported: ${writes.join('\n')}`);
    assert.ok(has(/rename\w*\(.*\/a".*\/b"/), 'the rename is reported');
    assert.ok(has(/mkdir\w*\(.*\/c"/), 'the mkdir is reported');
    assert.ok(has(/(rmdir|unlinkat)\(.*\/c"/), 'the rmdir is reported');
    assert.ok(has(/unlink\w*\(.*\/b"/), 'the unlink is reported');
    assert.ok(!has(/\/etc\/hostname/), 'a read-only open is not a write');
    assert.ok(r.trace.opened.includes('/etc/hostname'), 'read-only opens are seen');
  });

  test('when secrun supervises a quiet child then no process of the tree writes to disk', async () => {
    const r = await traced(secrunArgv(['run', '--mode', 'supervise', '--', ...quietChild]), refs());
    assert.equal(r.code, 0, `the child got both secrets: ${r.stderr}`);
    assert.ok(coversSecrun(r.trace.opened), 'the trace covers secrun itself');
    assert.deepEqual(r.trace.writes, []);
  });

  test('when secrun replaces itself with a quiet child (exec mode) then nothing writes to disk', async () => {
    const r = await traced(secrunArgv(['run', '--mode', 'exec', '--', ...quietChild]), refs());
    assert.equal(r.code, 0, `the child got both secrets: ${r.stderr}`);
    assert.ok(coversSecrun(r.trace.opened), 'the trace covers secrun itself');
    assert.deepEqual(r.trace.writes, []);
  });

  test('when secrun check resolves vault and awssm references then nothing writes to disk', async () => {
    const r = await traced(secrunArgv(['check']), refs());
    assert.equal(r.code, 0, r.stderr);
    assert.ok(coversSecrun(r.trace.opened), 'the trace covers secrun itself');
    assert.deepEqual(r.trace.writes, []);
    assert.deepEqual(leaks(allSecrets(), r.stdout, r.stderr), []);
  });
});

describe('secrun --file writes nothing to disk', { skip: straceSkip ?? false }, () => {
  test('when a child reads a secret from --file then the value travels through a pipe and no process writes to disk', async () => {
    const reader = [
      NODE,
      '-e',
      "process.exit(require('node:fs').readFileSync(process.env.API_KEY_FILE, 'utf8').startsWith('canary-api-') ? 0 : 3)",
    ];
    const r = await traced(
      (([file, argv]) => [file, ...argv])(
        secrunCommand(['run', '--file', 'API_KEY_FILE=vault:secret/app/api#key', '--', ...reader]),
      ),
      { ...bed.env },
    );
    assert.equal(r.code, 0, `the child read the secret from its file: ${r.stderr}`);
    assert.ok(r.trace.opened.includes('/dev/fd/3'), 'the child opened the pipe by its path');
    assert.deepEqual(r.trace.writes, []);
    assert.deepEqual(leaks(allSecrets(), r.stdout, r.stderr), []);
  });
});

// ---------------------------------------------------------------------------------------------
// 2. /proc/<pid>/cmdline and environ

function readProc(pid: number, file: 'cmdline' | 'environ'): string {
  return readFileSync(`/proc/${pid}/${file}`).toString('utf8').replaceAll('\0', '\n');
}

describe('argv and environment of the processes', () => {
  test('when secrun supervises a running child then its argv and environ hold references only and the child lacks the agent token', async (t) => {
    const s = startSecrun(
      [
        'run',
        '--mode',
        'supervise',
        '--env',
        'FLAG_KEY=awssm:prod/stripe#webhook',
        '--',
        ...printSignals,
        'SIGTERM',
        'exit',
      ],
      { ...bed.env, API_KEY: 'vault:secret/app/api#key', STRIPE: 'awssm:prod/stripe#api_key' },
    );
    t.after(() => s.stop());
    const childPid = await waitReady(s);
    assert.notEqual(childPid, s.pid, 'supervise mode keeps secrun as a separate process');

    const agentCmdline = readProc(s.pid, 'cmdline');
    const agentEnviron = readProc(s.pid, 'environ');
    const childCmdline = readProc(childPid, 'cmdline');
    const childEnviron = readProc(childPid, 'environ');

    // The files read are the right ones (controls): the references, and the injected values.
    assert.match(agentCmdline, /FLAG_KEY=awssm:prod\/stripe#webhook/);
    assert.match(agentEnviron, /^API_KEY=vault:secret\/app\/api#key$/m);
    assert.match(childCmdline, /print-signals\.mjs/);
    assert.ok(childEnviron.includes(`API_KEY=${c('apiKey')}\n`), 'the child got the secret');
    assert.ok(childEnviron.includes(`FLAG_KEY=${c('webhook')}\n`));

    assert.deepEqual(leaks(secretValues(), agentCmdline), [], 'secrun argv');
    assert.deepEqual(leaks(secretValues(), agentEnviron), [], 'secrun environ');
    assert.deepEqual(leaks(allSecrets(), childCmdline), [], 'child argv');
    // AWS credentials pass on purpose (src/child-env.ts: usually the workload's own identity).
    assert.deepEqual(
      leaks({ token: c('token') }, childEnviron),
      [],
      "the agent's Vault token is not in the child's environ",
    );
    assert.doesNotMatch(childEnviron, /^VAULT_TOKEN=/m);

    s.proc.kill('SIGTERM');
    const { code } = await s.done;
    assert.equal(code, 0, s.out.stderr());
    assert.deepEqual(leaks(allSecrets(), s.out.stderr()), []);
  });
});

// ---------------------------------------------------------------------------------------------
// 3. SIGUSR1 and the inspector

/** Probes the ports for `windowMs` (polling); returns every answer other than ECONNREFUSED. */
async function watchPortsClosed(ports: number[], windowMs: number): Promise<string[]> {
  const seen: string[] = [];
  const end = Date.now() + windowMs;
  while (Date.now() < end) {
    for (const port of ports) {
      const answer = await probePort(port);
      if (answer !== 'ECONNREFUSED') seen.push(`${port}: ${answer}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return seen;
}

describe('SIGUSR1', () => {
  test('when a plain node process gets SIGUSR1 then its inspector listens (control)', async (t) => {
    const port = await freePort();
    const s = start(NODE, ['-e', "setInterval(() => {}, 1000); process.stdout.write('up\\n')"], {
      NODE_OPTIONS: `--inspect-port=127.0.0.1:${port}`,
    });
    t.after(() => s.stop());
    await waitFor('node to start', () => (s.out.stdout().includes('up') ? true : undefined));
    assert.equal(await probePort(port), 'ECONNREFUSED');
    s.proc.kill('SIGUSR1');
    await waitFor('the inspector to listen', async () =>
      (await probePort(port)) === 'open' ? true : undefined,
    );
    s.proc.kill('SIGKILL');
    await s.done;
  });

  test('when a supervising secrun gets SIGUSR1 then no inspector opens, the child gets USR1 and secrun keeps running', async (t) => {
    const port = await freePort();
    const defaultFree = (await probePort(9229)) === 'ECONNREFUSED';
    const s = startSecrun(
      ['run', '--mode', 'supervise', '--drop', 'NODE_OPTIONS', '--', ...printSignals, 'SIGTERM', 'exit'],
      {
        ...bed.env,
        API_KEY: 'vault:secret/app/api#key',
        NODE_OPTIONS: `--inspect-port=127.0.0.1:${port}`,
      },
    );
    t.after(() => s.stop());
    await waitReady(s);

    s.proc.kill('SIGUSR1');
    await waitFor('the child to get SIGUSR1', () => (/^SIGUSR1$/m.test(s.out.stdout()) ? true : undefined));
    // The control above shows the inspector listening within milliseconds of the signal.
    const ports = defaultFree ? [port, 9229] : [port];
    assert.deepEqual(await watchPortsClosed(ports, 1500), [], 'no inspector port answers');
    assert.doesNotMatch(s.out.stderr(), /Debugger listening/);
    assert.equal(s.exited(), false, 'secrun is still running');
    process.kill(s.pid, 0);

    s.proc.kill('SIGTERM');
    const { code } = await s.done;
    assert.equal(code, 0, 'the child handled the forwarded SIGTERM and secrun passed its status on');
  });
});

// ---------------------------------------------------------------------------------------------
// 4. Diagnostic reports

function reportOptions(dir: string): string {
  return `--report-on-signal --report-signal=SIGUSR2 --report-directory=${dir}`;
}

/** The report file of `pid` in `dir`, once it is complete JSON. */
function completeReport(dir: string, pid: number): Record<string, unknown> | undefined {
  const name = readdirSync(dir).find((f) => f.startsWith('report.') && f.includes(`.${pid}.`));
  if (name === undefined) return undefined;
  try {
    return JSON.parse(readFileSync(path.join(dir, name), 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

describe('diagnostic reports', () => {
  test('when a plain node process writes a report on a signal then the report holds its environment (control)', async (t) => {
    const dir = tempDir('report-control');
    const s = start(NODE, ['-e', "setInterval(() => {}, 1000); process.stdout.write('up\\n')"], {
      VAULT_TOKEN: c('token'),
      NODE_OPTIONS: reportOptions(dir),
    });
    t.after(() => s.stop());
    await waitFor('node to start', () => {
      if (s.exited()) throw new Error(`node refused the report options: ${s.out.stderr()}`);
      return s.out.stdout().includes('up') ? true : undefined;
    });
    s.proc.kill('SIGUSR2');
    const report = await waitFor('the report', () => completeReport(dir, s.pid));
    const env = report['environmentVariables'] as Record<string, string> | undefined;
    assert.equal(env?.['VAULT_TOKEN'], c('token'));
    s.proc.kill('SIGKILL');
    await s.done;
  });

  // The executable ignores NODE_OPTIONS (test/e2e/entry.test.ts), so it cannot be asked this way.
  test('when secrun is asked for a report by signal then the report leaves out the environment', {
    skip: IS_EXECUTABLE && 'the executable ignores NODE_OPTIONS',
  }, async (t) => {
    const dir = tempDir('report');
    const s = startSecrun(
      ['run', '--mode', 'supervise', '--drop', 'NODE_OPTIONS', '--', ...printSignals, 'SIGTERM', 'exit'],
      {
        ...bed.env,
        API_KEY: 'vault:secret/app/api#key',
        STRIPE: 'awssm:prod/stripe#api_key',
        NODE_OPTIONS: reportOptions(dir),
      },
    );
    t.after(() => s.stop());
    await waitReady(s);

    s.proc.kill('SIGUSR2');
    const report = await waitFor('the report of secrun', () => completeReport(dir, s.pid));
    await waitFor('the child to get SIGUSR2', () => (/^SIGUSR2$/m.test(s.out.stdout()) ? true : undefined));
    assert.equal(s.exited(), false, 'secrun keeps running after writing the report');

    const text = JSON.stringify(report);
    assert.ok('header' in report, 'a real report');
    assert.equal('environmentVariables' in report, false, 'process.report.excludeEnv is set');
    assert.ok(!text.includes('VAULT_TOKEN'), 'no VAULT_TOKEN anywhere in the report');
    assert.deepEqual(leaks(allSecrets(), text), []);
    const files = readdirSync(dir);
    assert.deepEqual(
      files.filter((f) => !f.includes(`.${s.pid}.`)),
      [],
      'the child (without NODE_OPTIONS) wrote no report',
    );

    s.proc.kill('SIGTERM');
    assert.equal((await s.done).code, 0);
    assert.deepEqual(leaks(allSecrets(), s.out.stdout(), s.out.stderr()), []);
  });
});

// ---------------------------------------------------------------------------------------------
// 5. Errors and logs

// Each run lasts until its --timeout (the unreachable endpoint is retried until then): both at once.
describe('errors and logs', { concurrency: true }, () => {
  for (const format of ['json', 'text']) {
    test(`when every kind of failure happens at once (${format} debug logs) then no secret is printed and the exit is 77`, async () => {
      const closedPort = await freePort();
      const env = {
        ...bed.env,
        // The `limited` token may read secret/app/api only.
        VAULT_TOKEN: c('appToken'),
        AWS_ENDPOINT_URL_SECRETS_MANAGER: `http://127.0.0.1:${closedPort}`,
        OK: 'vault:secret/app/api#key',
        BAD_FIELD: 'vault:secret/app/api#nofield',
        NO_VERSION: 'vault:secret/app/api?version=9#key',
        DENIED: 'vault:secret/app/db#password',
        UNREACHABLE: 'awssm:prod/stripe#api_key',
      };
      const r = await runSecrun(
        [
          'run',
          '--log-level',
          'debug',
          '--log-format',
          format,
          // The other four fail within a few hundred milliseconds (more than 10x margin).
          '--timeout',
          '8s',
          '--',
          NODE,
          '-e',
          "process.stdout.write('STARTED')",
        ],
        env,
      );
      assert.equal(r.code, 77, r.stderr);
      assert.equal(r.stdout, '', 'the command never ran');
      for (const name of ['BAD_FIELD', 'NO_VERSION', 'DENIED', 'UNREACHABLE']) {
        assert.ok(r.stderr.includes(name), `stderr names ${name}: ${r.stderr}`);
      }
      if (format === 'json') {
        const lines = r.stderr.split('\n').filter((l) => l !== '');
        for (const line of lines) assert.doesNotThrow(() => JSON.parse(line), `a JSON log line: ${line}`);
        assert.ok(
          lines.some((l) => (JSON.parse(l) as { level?: string }).level === 'debug'),
          'debug lines were written (the strictest level is exercised)',
        );
      }
      assert.deepEqual(leaks(allSecrets(), r.stdout, r.stderr), []);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// The harness's own helpers

describe('security test helpers', () => {
  test('when a value is base64-encoded inside other text at any offset then leaks() still finds it', () => {
    const value = 'canary-x-0123456789abcdef';
    for (const prefix of ['', 'a', 'ab', 'abc']) {
      const blob = Buffer.from(`${prefix}${value}tail`).toString('base64');
      assert.deepEqual(leaks({ value }, `xx${blob}yy`), ['value'], `prefix ${JSON.stringify(prefix)}`);
    }
    assert.deepEqual(leaks({ value }, 'nothing here'), []);
  });

  test('when strace splits a call across lines then analyseTrace joins it and judges the whole call', () => {
    const log = [
      '10 openat(AT_FDCWD</w>, "/etc/passwd", O_RDONLY|O_CLOEXEC) = 3</etc/passwd>',
      '11 openat(AT_FDCWD</w>, "out.txt", O_WRONLY|O_CREAT <unfinished ...>',
      '10 openat(AT_FDCWD</w>, "/dev/null", O_RDWR|O_CLOEXEC) = 4</dev/null>',
      '11 <... openat resumed>, 0666) = 5</w/out.txt>',
      '12 ftruncate(7</tmp/x>, 0) = 0',
      '12 unlink("/proc/self/fd/9") = 0',
      '13 mkdir("/dev/shm/s", 0700) = 0',
    ].join('\n');
    const r = analyseTrace(log);
    assert.equal(r.calls, 6);
    assert.deepEqual(r.writes, [
      '11 openat(AT_FDCWD</w>, "out.txt", O_WRONLY|O_CREAT, 0666) = 5</w/out.txt>',
      '12 ftruncate(7</tmp/x>, 0) = 0',
      '13 mkdir("/dev/shm/s", 0700) = 0',
    ]);
    assert.ok(r.opened.includes('/w/out.txt'));
  });
});
