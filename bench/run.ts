// `npm run bench`: the boot and masking benchmarks in one run, as markdown (or JSON with --json).
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import * as boot from './boot.bench.ts';
import { fixed } from './lib.ts';
import * as mask from './mask.bench.ts';
import * as ship from './ship.bench.ts';

function count(name: string, text: string, min: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min)
    throw new TypeError(`--${name}: expected an integer >= ${min}, got "${text}"`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      all: { type: 'boolean', default: false },
      runs: { type: 'string', default: '12' },
      warmups: { type: 'string', default: '2' },
    },
  });

  const runs = count('runs', values.runs, 1);
  const warmups = count('warmups', values.warmups, 0);
  const machine = {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    date: new Date().toISOString().slice(0, 10),
    /** 1-minute load average at the start: other work on the machine skews every ratio. */
    load: loadavg()[0] ?? 0,
  };

  const started = performance.now();
  const shipResult = await ship.run({ rounds: runs, warmups });
  // --all: also the scenarios of the checkout (bin/secrun.js on src/) and the masking details.
  const bootResult = values.all ? await boot.run({ runs, warmups }) : undefined;
  const maskResult = values.all ? await mask.run() : undefined;
  const seconds = (performance.now() - started) / 1000;

  if (values.json) {
    console.log(
      JSON.stringify({ machine, seconds, ship: shipResult, boot: bootResult, mask: maskResult }, null, 2),
    );
    return;
  }
  const parts = [
    '## secrun benchmarks',
    `${machine.date}, Node ${machine.node}, ${machine.platform}, ${machine.cores} × ${machine.cpu}; load average ${fixed(machine.load, 1)} at the start; loopback dev Vault in the bench process; ${runs} alternating rounds after ${warmups} warm-ups; ${fixed(seconds)} s in all.`,
    ship.report(shipResult),
  ];
  if (bootResult && maskResult) {
    parts.push('### The checkout (bin/secrun.js on src/)', boot.report(bootResult));
    parts.push(
      '### Output masking throughput (64 MiB, 10 secrets, 64 KiB chunks, median of 5)',
      mask.report(maskResult),
    );
  }
  console.log(parts.join('\n\n'));
}

try {
  await main();
} catch (err) {
  console.error(`bench: error: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
