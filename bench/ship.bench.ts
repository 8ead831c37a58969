// The shipped artifacts (dist/secrun.mjs, dist/secrun-linux-x64) against bare node and
// `dotenvx run`: time from spawn to the child's first output, alternating runs, medians; the
// supervising agent's steady RSS; masking throughput. Build first: npm run build:exe.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type DevServers, startDevServers } from '../src/dev/index.ts';
import { parseSeed } from '../src/dev/seed.ts';
import { fixed, markdownTable, median, nowMs } from './lib.ts';
import * as mask from './mask.bench.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const NODE = process.execPath;
const BUNDLE = `${ROOT}dist/secrun.mjs`;
const EXE = `${ROOT}dist/secrun-linux-x64`;
const DOTENVX = `${ROOT}node_modules/@dotenvx/dotenvx/src/cli/dotenvx.js`;
const PRINT_X = "process.stdout.write('x')";
const IDLE = "process.stdout.write('x'); setInterval(() => {}, 60000)";
const DOCS = 500;
/** 500 keep-alive GETs of the bench documents with Node's HTTP client (16 sockets), then 'x'. */
const HTTP_FLOOR = `
const http = process.getBuiltinModule('node:http');
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
const base = new URL(process.env.VAULT_ADDR);
let next = 0, done = 0;
const get = () => {
  const i = next++;
  if (i >= ${DOCS}) return;
  http.get({ hostname: base.hostname, port: base.port, path: '/v1/secret/data/bench/svc-' + i, agent,
    headers: { 'x-vault-token': process.env.VAULT_TOKEN } }, (res) => {
    const chunks = [];
    res.on('data', (c) => chunks.push(c));
    res.on('end', () => {
      JSON.parse(Buffer.concat(chunks).toString());
      if (++done === ${DOCS}) { process.stdout.write('x'); agent.destroy(); } else get();
    });
  });
};
for (let k = 0; k < 16; k++) get();
`;

export interface ShipRow {
  name: string;
  medianMs: number;
  vsNode: number;
  vsDotenvx: number;
  /** What the row is compared with beyond node and dotenvx, and the result. */
  goal: string;
}

export interface ShipResult {
  rounds: number;
  rows: ShipRow[];
  rss: Array<{ name: string; rssMiB: number }>;
  maskMbPerSec: number;
  /** The same with 64-byte values, which also get the wrapped-base64 pass. */
  maskLongMbPerSec: number;
}

function signed(ms: number): string {
  return `${ms >= 0 ? '+' : ''}${fixed(ms)}`;
}

/** The node flags on the bundle's shebang line. */
function shebangFlags(file: string): string[] {
  const first = readFileSync(file, 'utf8').split('\n', 1)[0] ?? '';
  const words = first.replace(/^#!/, '').trim().split(/\s+/);
  return words.slice(words.indexOf('node') + 1);
}

function seed() {
  const kv: string[] = [];
  for (let i = 0; i < DOCS; i++)
    kv.push(`    secret/bench/svc-${i}: { user: svc-${i}, password: pw-${i}-0123456789abcdef }`);
  return parseSeed(
    `vault:\n  root_token: hvs.bench-root\n  mounts:\n    secret: { type: kv, version: 2 }\n  kv:\n${kv.join('\n')}\n`,
    'ship-bench',
  );
}

/** `count` references over `count / 2` documents (two fields of each). */
function refs(count: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < count; i++) {
    const doc = Math.floor(i / 2);
    out[`S_${i}`] = `vault:secret/bench/svc-${doc}#${i % 2 === 0 ? 'user' : 'password'}`;
  }
  return out;
}

/** Spawn -> first byte on stdout, in ms; `hold` keeps it running and returns the agent's RSS. */
function launch(
  argv: string[],
  env: Record<string, string>,
  hold?: (pid: number) => Promise<number>,
): Promise<{ ms: number; rssKiB?: number }> {
  return new Promise((resolve, reject) => {
    const started = nowMs();
    const child: ChildProcess = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let ms = Number.NaN;
    let stderr = '';
    let rssKiB: number | undefined;
    let holding: Promise<void> | undefined;
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout?.on('data', () => {
      if (!Number.isNaN(ms)) return;
      ms = nowMs() - started;
      if (hold && child.pid !== undefined) {
        holding = hold(child.pid)
          .then((kib) => {
            rssKiB = kib;
          })
          .finally(() => child.kill('SIGTERM'));
      }
    });
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      void Promise.resolve(holding).then(() => {
        const stopped = hold !== undefined && (signal === 'SIGTERM' || code === 143);
        if (Number.isNaN(ms) || (code !== 0 && !stopped)) {
          reject(
            new Error(`${argv.slice(0, 3).join(' ')} failed (${code ?? signal}): ${stderr.slice(-400)}`),
          );
        } else resolve({ ms, rssKiB });
      });
    });
  });
}

function rssKiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? Number.NaN);
}

/**
 * Drops `file`'s pages from the page cache (sync, then `dd iflag=nocache`, i.e. fadvise
 * DONTNEED; no root needed), so the next start reads it from disk as a container does. A binary
 * just written by the build sits in the cache as large folios, and mapping it then counts up to
 * 15 MiB more of it as the agent's RSS (measured: 85 MiB fresh, 70 MiB after eviction, same file).
 * Pages mapped by a running process stay. False when the tools are missing.
 */
function evictFromPageCache(file: string): boolean {
  const sync = spawnSync('sync', [file]);
  const dd = spawnSync('dd', [`if=${file}`, 'iflag=nocache', 'count=0', 'status=none']);
  return sync.status === 0 && dd.status === 0;
}

async function steadyRss(pid: number): Promise<number> {
  // Steady state: the child runs and the agent has nothing left to do but wait.
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    await new Promise((r) => setTimeout(r, 200));
    samples.push(rssKiB(pid));
  }
  return median(samples);
}

export async function run(opts: { rounds?: number; warmups?: number } = {}): Promise<ShipResult> {
  const rounds = opts.rounds ?? 10;
  const warmups = opts.warmups ?? 2;
  for (const f of [BUNDLE, EXE]) {
    if (!existsSync(f)) throw new Error(`${path.relative(ROOT, f)} is missing: run npm run build:exe first`);
  }
  const dev: DevServers = await startDevServers({ seed: seed() });
  const dir = mkdtempSync(path.join(tmpdir(), 'secrun-ship-bench-'));
  try {
    const base = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: dir, ...dev.env };
    const ten = refs(10);
    const thousand = refs(1000);
    const dotenv = `${dir}/.env`;
    writeFileSync(
      dotenv,
      Object.keys(ten)
        .map((k, i) => `${k}=value-${i}-0123456789abcdef\n`)
        .join(''),
    );
    const config = `${dir}/secrun.yaml`;
    writeFileSync(
      config,
      `env:\n${Object.entries(ten)
        .map(([k, v]) => `  ${k}: "${v}"`)
        .join('\n')}\n`,
    );
    const bundle = [NODE, ...shebangFlags(BUNDLE), BUNDLE];
    const child = (code = PRINT_X) => ['--', NODE, '-e', code];
    const exec = (bin: string[], extra: string[] = []) => [
      ...bin,
      'run',
      '--mode',
      'exec',
      ...extra,
      ...child(),
    ];
    const scenarios: Array<{ name: string; argv: string[]; env: Record<string, string> }> = [
      { name: 'node -e (bare)', argv: [NODE, '-e', PRINT_X], env: base },
      {
        name: 'dotenvx run, 10 variables from .env',
        argv: [NODE, DOTENVX, 'run', '-q', '-f', dotenv, ...child()],
        env: base,
      },
      { name: 'bundle, 10 refs / 5 docs', argv: exec(bundle), env: { ...base, ...ten } },
      { name: 'executable, 10 refs / 5 docs', argv: exec([EXE]), env: { ...base, ...ten } },
      { name: 'bundle, 1,000 refs / 500 docs', argv: exec(bundle), env: { ...base, ...thousand } },
      { name: 'executable, 1,000 refs / 500 docs', argv: exec([EXE]), env: { ...base, ...thousand } },
      { name: 'bundle, the 10 refs in a config file', argv: exec(bundle, ['--config', config]), env: base },
      {
        name: 'executable, the 10 refs in a config file',
        argv: exec([EXE], ['--config', config]),
        env: base,
      },
      // What the 1,000-reference rows cannot go below: Node's own HTTP client, cold, for the 500
      // reads alone (keep-alive, 16 sockets, as secrun), then the output.
      { name: "node's HTTP client alone: the 500 GETs", argv: [NODE, '-e', HTTP_FLOOR], env: base },
      // What no run can go below: secrun starting and printing its version, no work at all.
      { name: 'bundle, --version (no work)', argv: [...bundle, '--version'], env: base },
      { name: 'executable, --version (no work)', argv: [EXE, '--version'], env: base },
    ];
    const times = scenarios.map(() => [] as number[]);
    for (let r = 0; r < warmups + rounds; r++) {
      for (const [i, s] of scenarios.entries()) {
        const { ms } = await launch(s.argv, s.env);
        if (r >= warmups) times[i]!.push(ms);
      }
    }
    const med = times.map((t) => median(t));
    const [nodeMs, dotenvxMs] = [med[0]!, med[1]!];
    const goals = [
      '',
      '',
      `goal <= 2.5x node: ${med[2]! / nodeMs <= 2.5 ? 'met' : 'missed'}`,
      `goal <= 2.3x node: ${med[3]! / nodeMs <= 2.3 ? 'met' : 'missed'}`,
      `${fixed(med[4]! / med[2]!, 2)}x the 10 refs (goal <= 2x)`,
      `${fixed(med[5]! / med[3]!, 2)}x the 10 refs (goal <= 2x)`,
      `${signed(med[6]! - med[2]!)} ms over variables (goal <= +30)`,
      `${signed(med[7]! - med[3]!)} ms over variables (goal <= +30)`,
      `${signed(med[8]! - nodeMs)} ms over node; 2x allows ${signed(med[2]!)} over the bundle's 10`,
      `with the child's own start, no run is under ${fixed(1 + med[9]! / nodeMs, 2)}x`,
      `with the child's own start, no run is under ${fixed(1 + med[10]! / nodeMs, 2)}x`,
    ];
    const rows = scenarios.map((s, i) => ({
      name: s.name,
      medianMs: med[i]!,
      vsNode: med[i]! / nodeMs,
      vsDotenvx: med[i]! / dotenvxMs,
      goal: goals[i]!,
    }));

    const rss: ShipResult['rss'] = [];
    for (const [name, bin] of [
      ['bundle', bundle],
      ['executable', [EXE]],
    ] as const) {
      const samples: number[] = [];
      for (let i = 0; i < 3; i++) {
        if (!evictFromPageCache(bin[0] ?? ''))
          throw new Error(`could not evict ${bin[0]} from the page cache`);
        const r = await launch(
          [...bin, 'run', '--mode', 'supervise', ...child(IDLE)],
          { ...base, ...ten },
          steadyRss,
        );
        samples.push(r.rssKiB ?? Number.NaN);
      }
      rss.push({ name, rssMiB: median(samples) / 1024 });
    }
    const masking = await mask.run({ runs: 3, bytes: 32 * 1024 * 1024 });
    const maskMbPerSec = masking.find((m) => m.scenario.startsWith('mask, match'))?.mbPerSec ?? Number.NaN;
    const maskLongMbPerSec =
      masking.find((m) => m.scenario.startsWith(`mask, ${mask.LONG_VALUE}-byte`))?.mbPerSec ?? Number.NaN;
    return { rounds, rows, rss, maskMbPerSec, maskLongMbPerSec };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await dev.close();
  }
}

/** One table: boot rows, then RSS and masking. */
export function report(r: ShipResult): string {
  const rows = r.rows.map((row) => [
    row.name,
    `${fixed(row.medianMs)} ms`,
    `${fixed(row.vsNode, 2)}x`,
    `${fixed(row.vsDotenvx, 2)}x`,
    row.goal,
  ]);
  for (const m of r.rss) {
    rows.push([
      `${m.name}, supervise mode: agent steady RSS`,
      `${fixed(m.rssMiB, 1)} MiB`,
      '',
      '',
      'goal <= 70 MiB',
    ]);
  }
  rows.push(
    ['masking, 10 secrets, a match every 4 KiB', `${fixed(r.maskMbPerSec)} MB/s`, '', '', 'goal >= 300 MB/s'],
    [
      `masking, the same with ${mask.LONG_VALUE}-byte values`,
      `${fixed(r.maskLongMbPerSec)} MB/s`,
      '',
      '',
      'goal >= 300 MB/s (wrapped-base64 pass too)',
    ],
  );
  return markdownTable(
    ['time to the child first output (median)', 'value', 'vs node', 'vs dotenvx', 'note'],
    rows,
  );
}
