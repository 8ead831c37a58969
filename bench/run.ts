// `npm run bench`: the boot and masking benchmarks in one run, as markdown (or JSON with --json).
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import * as boot from './boot.bench.ts';
import { fixed } from './lib.ts';
import * as mask from './mask.bench.ts';

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
    /** bin/secrun.js runs the build when there is one, else the TypeScript sources (type stripping). */
    secrun: existsSync(new URL('../dist/cli.js', import.meta.url))
      ? 'dist/ (built)'
      : 'src/ (type stripping)',
  };

  const started = performance.now();
  const bootResult = await boot.run({ runs, warmups });
  const maskResult = await mask.run();
  const seconds = (performance.now() - started) / 1000;

  if (values.json) {
    console.log(JSON.stringify({ machine, seconds, boot: bootResult, mask: maskResult }, null, 2));
  } else {
    console.log(
      [
        '## secrun benchmarks',
        `Node ${machine.node}, ${machine.platform}, ${machine.cores} × ${machine.cpu}; secrun from ${machine.secrun}; loopback dev servers in the bench process; ${fixed(seconds)} s in all.`,
        boot.report(bootResult),
        '### Output masking throughput (64 MiB, 10 secrets, 64 KiB chunks, median of 5)',
        mask.report(maskResult),
      ].join('\n\n'),
    );
  }
}

try {
  await main();
} catch (err) {
  console.error(`bench: error: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
