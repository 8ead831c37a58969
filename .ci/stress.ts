// npm run test:stress: the suite must pass on a busy machine. Keeps every core busy with a
// spinning process, runs the unit suite three times in a row, and fails if any run fails.
import { spawn, spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

const RUNS = Number(process.env.STRESS_RUNS ?? 3);
// Each burner stops by itself after an hour even if this script is killed.
const burners = Array.from({ length: availableParallelism() }, () =>
  spawn(process.execPath, ['-e', 'const end = Date.now() + 3_600_000; while (Date.now() < end) {}'], {
    stdio: 'ignore',
  }),
);
let failed = 0;
try {
  for (let run = 1; run <= RUNS; run++) {
    const started = Date.now();
    const r = spawnSync('npm', ['run', '-s', 'test:unit'], { stdio: ['ignore', 'ignore', 'inherit'] });
    const seconds = Math.round((Date.now() - started) / 1000);
    process.stdout.write(
      `stress run ${run}/${RUNS}: ${r.status === 0 ? 'passed' : 'FAILED'} in ${seconds} s\n`,
    );
    if (r.status !== 0) failed++;
  }
} finally {
  for (const b of burners) b.kill('SIGKILL');
}
process.stdout.write(`${RUNS - failed} passed, ${failed} failed\n`);
process.exitCode = failed === 0 ? 0 : 1;
