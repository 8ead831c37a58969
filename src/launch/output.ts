/** Where the supervised child's output goes: through the masker, and to a sink instead of ours if given. */
import { PassThrough, Transform, type Writable } from 'node:stream';
import type { Logger } from '../base/log.ts';
import { Masker } from '../mask/index.ts';
import type { OutputStreams } from './supervisor.ts';

/** Replacement destinations of the child's output (tests, embedding). */
export interface OutputSinks {
  stdout: Writable;
  stderr: Writable;
}

/**
 * The child's stdout and stderr stages: masked when a masker is given; with `sinks`, everything
 * goes to the sinks and nothing is passed on to our own stdout/stderr.
 */
export function childOutput(masker: Masker | undefined, sinks: OutputSinks | undefined): OutputStreams {
  const stage = (which: 'stdout' | 'stderr'): Transform => {
    const inner = masker ? masker.createStream() : new PassThrough();
    if (!sinks) return inner;
    const sink = sinks[which];
    inner.on('data', (chunk: Buffer) => sink.write(chunk));
    const outer = new Transform({
      transform(chunk: Buffer, _enc, done) {
        inner.write(chunk, () => done());
      },
      flush(done) {
        inner.once('end', () => done());
        inner.end();
      },
    });
    inner.on('error', (err) => outer.destroy(err));
    return outer;
  };
  return { stdout: stage('stdout'), stderr: stage('stderr') };
}

/**
 * Builds maskers for sets of values, warning once per variable whose value is too short to be
 * masked.
 */
export function maskerFactory(log: Logger): (values: Iterable<readonly [string, string]>) => Masker {
  const warned = new Set<string>();
  return (values) => {
    const masker = new Masker([...values].map(([name, value]) => ({ name, value })));
    const fresh = masker.skipped.filter((n) => !warned.has(n));
    if (fresh.length > 0) {
      for (const n of fresh) warned.add(n);
      log.warn(`not masking ${fresh.join(', ')}: values shorter than 4 characters are not masked`);
    }
    return masker;
  };
}
