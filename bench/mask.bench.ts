import { PassThrough, Readable, type Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Masker, type MaskSecret } from '../src/mask/index.ts';
import { fixed, markdownTable, median } from './lib.ts';

/** Median throughput of one scenario. */
export interface MaskBenchResult {
  scenario: string;
  /** Median over the runs, in MB/s (10^6 bytes per second). */
  mbPerSec: number;
  /** Median throughput divided by the passthrough baseline's. */
  ratio: number;
  /** Redaction markers in the output of the last run (a check that masking happened). */
  redactions: number;
}

/** Options for {@link run}. */
export interface MaskBenchOptions {
  /** Input size per run; default 64 MiB. */
  bytes?: number;
  /** Runs per scenario; default 5. */
  runs?: number;
  /** Chunk size fed to the streams; default 64 KiB (a pipe's capacity on Linux). */
  chunkSize?: number;
}

const SECRET_COUNT = 10;
const MATCH_EVERY = 4096;

/** Deterministic PRNG (xorshift32), so every run measures the same text. */
function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function makeSecrets(rand: () => number, length = 32): MaskSecret[] {
  return Array.from({ length: SECRET_COUNT }, (_, i) => ({
    name: `SECRET_${i}`,
    value: Array.from({ length }, () => ALNUM[Math.floor(rand() * ALNUM.length)]).join(''),
  }));
}

/** Values this long also get the wrapped-base64 pass (encodings.ts WRAP_MIN_BYTES). */
export const LONG_VALUE = 64;

/** Log-like lines over the secrets' alphabet, so partial matches occur; no secret occurs in it. */
function makeText(bytes: number, rand: () => number): Buffer {
  const words = Array.from({ length: 512 }, () =>
    Array.from({ length: 2 + Math.floor(rand() * 10) }, () => ALNUM[Math.floor(rand() * ALNUM.length)]).join(
      '',
    ),
  );
  const text = Buffer.alloc(bytes);
  let at = 0;
  let line = 0;
  while (at < bytes) {
    const parts = [`2025-01-01T00:00:00.${String(line++ % 1000).padStart(3, '0')}Z \x1b[32mINFO\x1b[0m`];
    for (let w = 0; w < 12; w++) parts.push(words[Math.floor(rand() * words.length)]!);
    at += text.write(`${parts.join(' ')}\n`, at, 'latin1');
  }
  return text;
}

function withMatches(text: Buffer, secrets: MaskSecret[]): Buffer {
  const out = Buffer.from(text);
  for (let at = MATCH_EVERY - 64, i = 0; at + 64 < out.length; at += MATCH_EVERY, i++) {
    out.write(secrets[i % secrets.length]!.value, at, 'latin1');
  }
  return out;
}

async function measure(
  text: Buffer,
  chunkSize: number,
  make: () => Transform,
): Promise<{ seconds: number; output: number; redactions: number }> {
  const chunks: Buffer[] = [];
  for (let at = 0; at < text.length; at += chunkSize) chunks.push(text.subarray(at, at + chunkSize));
  let output = 0;
  let redactions = 0;
  const marker = Buffer.from('<redacted:');
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      output += chunk.length;
      for (let i = chunk.indexOf(marker); i !== -1; i = chunk.indexOf(marker, i + 1)) redactions++;
      callback();
    },
  });
  const started = process.hrtime.bigint();
  await pipeline(Readable.from(chunks, { objectMode: false }), make(), sink);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { seconds, output, redactions };
}

/**
 * Measures masking throughput: (a) text with no match and 10 secrets, (b) the same text with a
 * secret every 4 KiB, (c) a PassThrough baseline. Each scenario's runs are interleaved with the
 * others', so a slow moment of the machine does not land on one scenario only.
 */
export async function run(opts: MaskBenchOptions = {}): Promise<MaskBenchResult[]> {
  const bytes = opts.bytes ?? 64 * 1024 * 1024;
  const runs = opts.runs ?? 5;
  const chunkSize = opts.chunkSize ?? 64 * 1024;
  const rand = random(0x5ec12e7);
  const secrets = makeSecrets(rand);
  const plain = makeText(bytes, rand);
  const matching = withMatches(plain, secrets);
  const masker = new Masker(secrets);
  const longSecrets = makeSecrets(rand, LONG_VALUE);
  const longMasker = new Masker(longSecrets);
  const scenarios = [
    { scenario: 'passthrough (baseline)', text: plain, make: () => new PassThrough() },
    { scenario: 'mask, no match', text: plain, make: () => masker.createStream() },
    {
      scenario: `mask, match every ${MATCH_EVERY / 1024} KiB`,
      text: matching,
      make: () => masker.createStream(),
    },
    {
      scenario: `mask, ${LONG_VALUE}-byte values (wrapped pass too), match every ${MATCH_EVERY / 1024} KiB`,
      text: withMatches(plain, longSecrets),
      make: () => longMasker.createStream(),
    },
  ];
  const times = scenarios.map(() => [] as number[]);
  const redactions = scenarios.map(() => 0);
  for (let r = 0; r < runs; r++) {
    for (const [i, s] of scenarios.entries()) {
      const result = await measure(s.text, chunkSize, s.make);
      times[i]!.push(result.seconds);
      redactions[i] = result.redactions;
    }
  }
  const rates = times.map((t) => bytes / median(t) / 1e6);
  return scenarios.map((s, i) => ({
    scenario: s.scenario,
    mbPerSec: rates[i]!,
    ratio: rates[i]! / rates[0]!,
    redactions: redactions[i]!,
  }));
}

/** The results as a markdown table. */
export function report(results: MaskBenchResult[]): string {
  return markdownTable(
    ['scenario', 'MB/s (median)', 'vs baseline', 'redactions'],
    results.map((r) => [r.scenario, fixed(r.mbPerSec), fixed(r.ratio, 2), String(r.redactions)]),
  );
}

if (import.meta.main) {
  console.log(report(await run()));
}
