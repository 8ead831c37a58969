// `npm run bench:fleet`: a fleet boots. N agents start at once against one dev Vault limited to R
// requests per second (beyond it: 429 with Retry-After). Each agent runs secrun's own boot path
// (settings, references, provider registry, resolution within --timeout, retries) in this process,
// as many pods would run it at once; "started" means its child would have been launched.
// Reports how many started, the time to the last one, the peak of requests in flight at the
// server and the 429s, for the retry policy of this version and, for comparison, with
// VAULT_MAX_RETRIES=3 (the four tries agents used to give up after).
import { fork } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createRegistry, prepare, resolveWithDeadline } from '../src/boot/prepare.ts';
import { parseDuration } from '../src/config/values.ts';
import type { LoadStats } from '../src/dev/faults.ts';
import { fixed, markdownTable } from './lib.ts';

const ROOT = 'hvs.fleet-bench-root';

interface FleetResult {
  label: string;
  agents: number;
  started: number;
  lastChildMs: number;
  peakInFlight: number;
  throttled: number;
  requests: number;
  failures: Record<string, number>;
}

async function fleet(o: {
  label: string;
  agents: number;
  rate: number;
  timeout: string;
  latencyMs: number;
  extraEnv: Record<string, string>;
}): Promise<FleetResult> {
  const server = fork(
    new URL('./fleet-server.ts', import.meta.url),
    [ROOT, String(o.rate), String(o.latencyMs)],
    {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    },
  );
  const ask = <T>(msg?: string): Promise<T> =>
    new Promise((resolve) => {
      server.once('message', (m) => resolve(m as T));
      if (msg) server.send(msg);
    });
  const { url } = await ask<{ url: string }>();
  const started = performance.now();
  const failures: Record<string, number> = {};
  let ok = 0;
  let lastChildMs = 0;
  const agent = async (): Promise<void> => {
    const io = {
      stdout: () => {},
      stderr: () => {},
      env: {
        VAULT_ADDR: url,
        VAULT_TOKEN: ROOT,
        HOME: '/nonexistent-home',
        DB_USER: 'vault:secret/app/db#username',
        DB_PASSWORD: 'vault:secret/app/db#password',
        API_KEY: 'vault:secret/app/api#key',
        ...o.extraEnv,
      },
      cwd: '/nonexistent-dir',
      stderrIsTty: false,
      stdinIsTty: false,
    };
    const prepared = await prepare({ timeout: o.timeout }, io);
    const registry = createRegistry(prepared.settings, io, prepared.logger);
    try {
      await resolveWithDeadline(prepared, registry, prepared.logger, io);
      ok++;
      lastChildMs = Math.max(lastChildMs, performance.now() - started);
    } catch (err) {
      const code =
        (err as { failures?: Array<{ error: { code: string } }> }).failures?.[0]?.error.code ?? 'error';
      failures[code] = (failures[code] ?? 0) + 1;
    } finally {
      await registry.closeAll();
    }
  };
  await Promise.all(Array.from({ length: o.agents }, agent));
  const { stats, requests } = await ask<{ stats: LoadStats; requests: number }>('stats');
  server.send('close');
  await new Promise((resolve) => server.once('exit', resolve));
  return {
    label: o.label,
    agents: o.agents,
    started: ok,
    lastChildMs,
    peakInFlight: stats.peakInFlight,
    throttled: stats.throttled,
    requests,
    failures,
  };
}

/** Runs the simulation; `--json` for machines. */
export async function run(o: {
  agents: number;
  rate: number;
  timeout: string;
  latencyMs: number;
}): Promise<FleetResult[]> {
  // Warm-up: load the provider modules once, so the first fleet does not pay for it.
  await fleet({ ...o, agents: 1, label: 'warm-up', extraEnv: {} });
  return [
    await fleet({ ...o, label: 'retry until the deadline (this version)', extraEnv: {} }),
    await fleet({ ...o, label: 'VAULT_MAX_RETRIES=3 (four tries)', extraEnv: { VAULT_MAX_RETRIES: '3' } }),
  ];
}

/** A markdown table of the results. */
export function report(results: FleetResult[]): string {
  return markdownTable(
    ['policy', 'started', 'last child (s)', 'peak in flight', '429s', 'requests', 'failed'],
    results.map((r) => [
      r.label,
      `${r.started}/${r.agents}`,
      r.started > 0 ? fixed(r.lastChildMs / 1000, 1) : 'n/a',
      String(r.peakInFlight),
      String(r.throttled),
      String(r.requests),
      Object.entries(r.failures)
        .map(([code, n]) => `${n} ${code}`)
        .join(', ') || '0',
    ]),
  );
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      agents: { type: 'string', default: '200' },
      rate: { type: 'string', default: '100' },
      timeout: { type: 'string', default: '60s' },
      latency: { type: 'string', default: '20' },
      json: { type: 'boolean', default: false },
    },
  });
  const agents = Number(values.agents);
  const rate = Number(values.rate);
  if (!Number.isInteger(agents) || agents < 1)
    throw new TypeError(`--agents: expected an integer >= 1, got "${values.agents}"`);
  if (!(rate > 0)) throw new TypeError(`--rate: expected a positive number, got "${values.rate}"`);
  parseDuration(values.timeout);
  const latencyMs = Number(values.latency);
  const results = await run({ agents, rate, timeout: values.timeout, latencyMs });
  if (values.json) console.log(JSON.stringify(results, null, 2));
  else {
    console.log(
      `## Fleet boot: ${agents} agents at once, one dev Vault (own process, ${latencyMs} ms per request) limited to ${rate} req/s, --timeout ${values.timeout}, 3 references (2 documents) each\n`,
    );
    console.log(report(results));
  }
}
