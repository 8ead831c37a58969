import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type DevServers, startDevServers } from '../src/dev/index.ts';
import { parseSeed } from '../src/dev/seed.ts';
import { fixed, markdownTable, median, nowMs, percentile } from './lib.ts';

const BIN = fileURLToPath(new URL('../bin/secrun.js', import.meta.url));
const NODE = process.execPath;
const PRINT_X = `process.stdout.write('x')`;
/** Prints its pid, then idles until signalled (memory is read meanwhile). */
const IDLE = `process.stdout.write(process.pid + '\\n'); setInterval(() => {}, 60000)`;
const LAUNCH_TIMEOUT_MS = 30_000;

/** Processes this bench started and that may still run: killed if the bench is interrupted. */
const live = new Set<ChildProcess>();
const idlePids = new Set<number>();

const KV_MOUNTS = ['secret', 'team'] as const;
const KV_PER_MOUNT = 10;
const SM_SECRETS = 25;

/** One time-to-first-output scenario. */
export interface BootScenarioResult {
  scenario: string;
  refs: number;
  /** Distinct documents the references point at (vault + awssm). */
  documents: number;
  medianMs: number;
  p90Ms: number;
  /** Median divided by the baseline's median. */
  ratio: number;
  /** HTTP requests per launch, as the dev servers logged them (last run). */
  vaultRequests: number;
  awsRequests: number;
  /** AWS operations of the last run, in order (shows batching). */
  awsOperations: string[];
}

/** Parallel vs sequential reading under added server latency. */
export interface ParallelResult {
  documents: number;
  latencyMs: number;
  /** Median time to first output, same references, no added latency. */
  withoutLatencyMs: number;
  /** Median time to first output with `latencyMs` on every Vault request. */
  withLatencyMs: number;
  /** `withLatencyMs - withoutLatencyMs`: what the latency cost the boot. */
  addedMs: number;
  /** `documents × latencyMs`: the least that reading one document after another would add. */
  sequentialAddedMs: number;
  /** `sequentialAddedMs / addedMs`. */
  speedup: number;
  /** Vault requests per launch (mount preflights + reads + token lookups). */
  vaultRequests: number;
}

/** Resident memory, read from /proc while the child idles. */
export interface MemoryResult {
  process: string;
  rssMiB: number;
  /** Ratio to the bare node process. */
  ratio: number;
}

export interface BootBenchResult {
  node: string;
  runs: number;
  warmups: number;
  scenarios: BootScenarioResult[];
  parallel: ParallelResult;
  /** Empty where /proc is not available. */
  memory: MemoryResult[];
}

export interface BootBenchOptions {
  /** Measured launches per scenario; default 15. */
  runs?: number;
  /** Unrecorded launches per scenario first; default 2. */
  warmups?: number;
  /** Latency added to every Vault request in the parallel-reading scenario; default 50 ms. */
  latencyMs?: number;
  /** Samples per memory measurement; default 3. */
  memorySamples?: number;
  /** Wait after the child's first output before reading memory; default 300 ms. */
  settleMs?: number;
}

function value(): string {
  return randomBytes(12).toString('hex');
}

function buildSeed() {
  const kv: string[] = [];
  for (const mount of KV_MOUNTS) {
    for (let i = 0; i < KV_PER_MOUNT; i++) {
      kv.push(`    ${mount}/bench/svc-${i}: { user: svc-${i}, password: ${value()} }`);
    }
  }
  const sm: string[] = [];
  for (let i = 0; i < SM_SECRETS; i++) {
    sm.push(`    bench/svc-${i}: { api_key: ${value()}, webhook: ${value()} }`);
  }
  const text = `
vault:
  root_token: hvs.bench-${value()}
${vaultMountsYaml({ secret: 2, team: 1 })}
  kv:
${kv.join('\n')}
aws:
  region: eu-west-1
  account_id: "111122223333"
  credentials:
    - { access_key_id: AKIABENCH00000000001, secret_access_key: bench-${value()} }
  secrets:
${sm.join('\n')}
`;
  return parseSeed(text, 'bench-seed');
}

/** The `mounts:` block of the seed (bench/ does not import test helpers). */
function vaultMountsYaml(kv: Record<string, 1 | 2>): string {
  const kvLines = Object.entries(kv).map(
    ([mount, version]) => `    ${mount}: { type: kv, version: ${version} }`,
  );
  return [
    '  mounts:',
    ...kvLines,
    '    database:',
    '      type: database',
    '      roles:',
    '        app: { default_ttl: 1h, max_ttl: 2h }',
  ].join('\n');
}

type Refs = Record<string, string>;

function kvRefs(count: number): Refs {
  const refs: Refs = {};
  for (let i = 0; i < count; i++) {
    const mount = KV_MOUNTS[i % KV_MOUNTS.length]!;
    const n = Math.floor(i / KV_MOUNTS.length);
    refs[`KV_${mount.toUpperCase()}_${n}`] = `vault:${mount}/bench/svc-${n}#password`;
  }
  return refs;
}

function smRefs(count: number, field = 'api_key'): Refs {
  const refs: Refs = {};
  for (let i = 0; i < count; i++) refs[`SM_${field.toUpperCase()}_${i}`] = `awssm:bench/svc-${i}#${field}`;
  return refs;
}

/** 50 references: a database credential (2 fields, one read), 20 KV documents, 25 + 3 awssm fields. */
function mixedRefs(): Refs {
  return {
    DB_USER: 'vault:database/creds/app#username',
    DB_PASS: 'vault:database/creds/app#password',
    ...kvRefs(KV_MOUNTS.length * KV_PER_MOUNT),
    ...smRefs(SM_SECRETS),
    ...smRefs(3, 'webhook'),
  };
}

function documentsOf(refs: Refs): number {
  return new Set(Object.values(refs).map((r) => r.replace(/#.*$/, ''))).size;
}

interface Launch {
  firstOutputMs: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/**
 * Spawns `argv` with exactly `env` and measures spawn → first byte on stdout. With `whileRunning`,
 * that callback runs after the first output and the process is then stopped with SIGTERM.
 */
function launch(
  argv: string[],
  env: Record<string, string>,
  whileRunning?: (pid: number, stdout: () => string) => Promise<void>,
): Promise<Launch> {
  return new Promise((resolve, reject) => {
    const started = nowMs();
    const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    let firstOutputMs = Number.NaN;
    let stdout = '';
    let stderr = '';
    let task: Promise<void> | undefined;
    let taskError: unknown;
    const timer = setTimeout(() => child.kill('SIGKILL'), LAUNCH_TIMEOUT_MS);
    child.stdout.on('data', (d: Buffer) => {
      if (Number.isNaN(firstOutputMs)) firstOutputMs = nowMs() - started;
      stdout += d.toString();
      if (whileRunning && !task && child.pid !== undefined) {
        const pid = child.pid;
        task = whileRunning(pid, () => stdout)
          .catch((err: unknown) => {
            taskError = err;
          })
          .finally(() => child.kill('SIGTERM'));
      }
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      live.delete(child);
      clearTimeout(timer);
      void Promise.resolve(task).then(() => {
        if (taskError) reject(taskError);
        else resolve({ firstOutputMs, code, signal, stderr });
      });
    });
  });
}

function assertLaunched(name: string, r: Launch): void {
  if (Number.isNaN(r.firstOutputMs) || (r.code !== 0 && r.signal !== 'SIGTERM' && r.code !== 143)) {
    const tail = r.stderr.split('\n').slice(-5).join('\n');
    throw new Error(`boot bench: "${name}" failed (code ${r.code}, signal ${r.signal}):\n${tail}`);
  }
}

interface Scenario {
  name: string;
  refs: Refs;
  argv: string[];
  /** Runs before / after each launch of this scenario. */
  setup?: () => void;
  teardown?: () => void;
}

function secrun(mode: 'exec' | 'supervise', code = PRINT_X): string[] {
  return [NODE, BIN, 'run', '--mode', mode, '--', NODE, '-e', code];
}

function vmRssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]);
}

function killIfAlive(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

async function measureMemory(
  argv: string[],
  env: Record<string, string>,
  samples: number,
  settleMs: number,
): Promise<number> {
  const values: number[] = [];
  for (let i = 0; i < samples; i++) {
    let childPid: number | undefined;
    try {
      const r = await launch(argv, env, async (pid, stdout) => {
        const deadline = nowMs() + 5000;
        while (!stdout().includes('\n') && nowMs() < deadline) await sleep(5);
        childPid = Number.parseInt(stdout(), 10);
        if (Number.isInteger(childPid)) idlePids.add(childPid);
        await sleep(settleMs);
        values.push(vmRssKiB(pid) / 1024);
      });
      assertLaunched(argv.join(' '), r);
    } finally {
      // In supervise mode the idle child is the agent's; make sure it never outlives the bench.
      if (childPid !== undefined && Number.isInteger(childPid)) {
        killIfAlive(childPid);
        idlePids.delete(childPid);
      }
    }
  }
  return median(values);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Time from spawn to the child's first output, with and without secrun in front, against the
 * in-process dev servers; the supervise-mode agent's memory. Scenarios are interleaved run by run,
 * so a slow moment of the machine is spread over all of them.
 */
export async function run(opts: BootBenchOptions = {}): Promise<BootBenchResult> {
  const runs = opts.runs ?? 15;
  const warmups = opts.warmups ?? 2;
  const latencyMs = opts.latencyMs ?? 50;
  let servers: DevServers | undefined;
  // On SIGINT / SIGTERM: stop what was started, then die of the same signal.
  const onSignal = (signal: NodeJS.Signals): void => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    for (const child of live) child.kill('SIGKILL');
    for (const pid of idlePids) killIfAlive(pid);
    void Promise.resolve(servers?.close()).finally(() => process.kill(process.pid, signal));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    servers = await startDevServers({ seed: buildSeed() });
    const dev = servers;
    const baseEnv: Record<string, string> = {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: '/nonexistent-secrun-bench-home',
      ...dev.env,
      // Keep a developer's own AWS profile and the instance metadata service out of the numbers.
      AWS_CONFIG_FILE: '/nonexistent-secrun-bench-aws-config',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent-secrun-bench-aws-credentials',
      AWS_EC2_METADATA_DISABLED: 'true',
    };
    const vaultOnly = kvRefs(10);
    const awsOnly = smRefs(10);
    const mixed = mixedRefs();
    const twenty = kvRefs(20);
    const slow = (on: boolean) => () => {
      dev.vault.faults.latencyMs = on ? latencyMs : 0;
    };
    const scenarios: Scenario[] = [
      { name: 'node directly (baseline)', refs: {}, argv: [NODE, '-e', PRINT_X] },
      { name: 'secrun exec, 0 refs', refs: {}, argv: secrun('exec') },
      { name: 'secrun exec, 10 vault refs', refs: vaultOnly, argv: secrun('exec') },
      { name: 'secrun exec, 10 awssm refs', refs: awsOnly, argv: secrun('exec') },
      { name: 'secrun exec, 50 refs (vault + awssm)', refs: mixed, argv: secrun('exec') },
      { name: 'secrun supervise, 50 refs (vault + awssm)', refs: mixed, argv: secrun('supervise') },
      { name: 'secrun exec, 20 vault docs', refs: twenty, argv: secrun('exec') },
      {
        name: `secrun exec, 20 vault docs, +${latencyMs} ms/request`,
        refs: twenty,
        argv: secrun('exec'),
        setup: slow(true),
        teardown: slow(false),
      },
    ];
    const times = scenarios.map(() => [] as number[]);
    const requests = scenarios.map(() => ({ vault: 0, aws: 0, ops: [] as string[] }));
    for (let round = 0; round < warmups + runs; round++) {
      for (const [i, s] of scenarios.entries()) {
        dev.vault.log.clear();
        dev.aws.log.clear();
        s.setup?.();
        let r: Launch;
        try {
          r = await launch(s.argv, { ...baseEnv, ...s.refs });
        } finally {
          s.teardown?.();
        }
        assertLaunched(s.name, r);
        if (round >= warmups) times[i]!.push(r.firstOutputMs);
        requests[i] = {
          vault: dev.vault.log.entries.length,
          aws: dev.aws.log.entries.length,
          ops: dev.aws.log.entries.map((e) => String(e.operation)),
        };
      }
    }
    const medians = times.map((t) => median(t));
    const results: BootScenarioResult[] = scenarios.map((s, i) => ({
      scenario: s.name,
      refs: Object.keys(s.refs).length,
      documents: documentsOf(s.refs),
      medianMs: medians[i]!,
      p90Ms: percentile(times[i]!, 90),
      ratio: medians[i]! / medians[0]!,
      vaultRequests: requests[i]!.vault,
      awsRequests: requests[i]!.aws,
      awsOperations: requests[i]!.ops,
    }));
    const fast = results[results.length - 2]!;
    const slowest = results[results.length - 1]!;
    const addedMs = slowest.medianMs - fast.medianMs;
    const sequentialAddedMs = documentsOf(twenty) * latencyMs;
    const parallel: ParallelResult = {
      documents: documentsOf(twenty),
      latencyMs,
      withoutLatencyMs: fast.medianMs,
      withLatencyMs: slowest.medianMs,
      addedMs,
      sequentialAddedMs,
      speedup: sequentialAddedMs / addedMs,
      vaultRequests: slowest.vaultRequests,
    };

    const memory: MemoryResult[] = [];
    if (process.platform === 'linux') {
      const samples = opts.memorySamples ?? 3;
      const settleMs = opts.settleMs ?? 300;
      const bare = await measureMemory([NODE, '-e', IDLE], baseEnv, samples, settleMs);
      memory.push({ process: 'node directly (baseline)', rssMiB: bare, ratio: 1 });
      for (const [label, refs] of [
        ['10 vault refs', vaultOnly],
        ['50 refs (vault + awssm)', mixed],
      ] as const) {
        const rss = await measureMemory(
          secrun('supervise', IDLE),
          { ...baseEnv, ...refs },
          samples,
          settleMs,
        );
        memory.push({ process: `secrun supervise agent, ${label}`, rssMiB: rss, ratio: rss / bare });
      }
    }
    return { node: process.version, runs, warmups, scenarios: results, parallel, memory };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await servers?.close();
  }
}

/** The result as markdown sections. */
export function report(r: BootBenchResult): string {
  const boot = markdownTable(
    ['scenario', 'refs', 'docs', 'median ms', 'p90 ms', 'vs baseline', 'requests vault / aws'],
    r.scenarios.map((s) => [
      s.scenario,
      String(s.refs),
      String(s.documents),
      fixed(s.medianMs, 1),
      fixed(s.p90Ms, 1),
      `${fixed(s.ratio, 1)}×`,
      `${s.vaultRequests} / ${s.awsRequests}${s.awsOperations.length > 0 ? ` (${summarizeOps(s.awsOperations)})` : ''}`,
    ]),
  );
  const p = r.parallel;
  const parallel = markdownTable(
    ['reading 20 documents', 'ms'],
    [
      ['median, no added latency', fixed(p.withoutLatencyMs, 1)],
      [`median, +${p.latencyMs} ms on every Vault request`, fixed(p.withLatencyMs, 1)],
      ['added by the latency (measured, parallel)', fixed(p.addedMs, 1)],
      [`added if read one after another (${p.documents} × ${p.latencyMs} ms)`, fixed(p.sequentialAddedMs, 0)],
      ['sequential / parallel', `${fixed(p.speedup, 1)}×`],
    ],
  );
  const sections = [
    `### Time from spawn to the child's first output (${r.runs} runs after ${r.warmups} warm-ups, Node ${r.node})`,
    boot,
    `### Parallel reading: ${p.documents} documents, ${p.latencyMs} ms added per Vault request (${p.vaultRequests} requests per launch)`,
    parallel,
  ];
  if (r.memory.length > 0) {
    sections.push(
      '### Resident memory (VmRSS) while the child idles',
      markdownTable(
        ['process', 'RSS MiB', 'vs node'],
        r.memory.map((m) => [m.process, fixed(m.rssMiB, 1), `${fixed(m.ratio, 1)}×`]),
      ),
    );
  }
  return sections.join('\n\n');
}

function summarizeOps(ops: string[]): string {
  const counts = new Map<string, number>();
  for (const op of ops) counts.set(op, (counts.get(op) ?? 0) + 1);
  return [...counts].map(([op, n]) => (n > 1 ? `${n}× ${op}` : op)).join(', ');
}

if (import.meta.main) {
  console.log(report(await run()));
}
