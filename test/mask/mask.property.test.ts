import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Masker, type MaskPattern, type MaskSecret, maskPatterns } from '../../src/mask/index.ts';

const HOLD = { flushMs: Number.POSITIVE_INFINITY };

// Characters that stress the masker: base64 and URL alphabet, JSON escapes, regex metacharacters,
// multibyte UTF-8, ANSI escape. No '<' or '>', so a marker in the output is always ours.
const CHARS = [
  'a',
  'b',
  'A',
  '0',
  '+',
  '/',
  '=',
  '%',
  '"',
  '\\',
  '\n',
  ' ',
  '.',
  '*',
  '$',
  '(',
  'é',
  '😀',
  '\x1b',
];
const char = fc.constantFrom(...CHARS);
const valueArb = fc.array(char, { minLength: 4, maxLength: 10 }).map((cs) => cs.join(''));
const secretsArb = fc
  .array(valueArb, { minLength: 1, maxLength: 4 })
  .map((values): MaskSecret[] => values.map((value, i) => ({ name: `S${i}`, value })));
const fillerArb = fc.array(char, { maxLength: 12 }).map((cs) => cs.join(''));
const chunkSizesArb = fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 8 });

/** Text with values (raw or in one of their encodings) inserted between random fillers. */
function textWith(patterns: MaskPattern[], picks: Array<[string, number]>): Buffer {
  const parts: Buffer[] = [];
  for (const [filler, pick] of picks) {
    parts.push(Buffer.from(filler));
    if (patterns.length > 0 && pick >= 0) parts.push(patterns[pick % patterns.length]!.bytes);
  }
  return Buffer.concat(parts);
}
const picksArb = fc.array(fc.tuple(fillerArb, fc.integer({ min: -1, max: 1000 })), { maxLength: 8 });

async function streamed(masker: Masker, input: Buffer, sizes: number[]): Promise<Buffer> {
  const stream = masker.createStream();
  const collected = stream.toArray();
  for (let at = 0, i = 0; at < input.length; i++) {
    const size = sizes[i % sizes.length]!;
    stream.write(input.subarray(at, at + size));
    at += size;
  }
  stream.end();
  return Buffer.concat(await collected);
}

/** Slow, obviously correct model: all occurrences, overlapping ones merged, leftmost-longest names. */
function reference(patterns: MaskPattern[], input: Buffer): Buffer {
  const matches: Array<{ start: number; end: number; name: string }> = [];
  for (let start = 0; start < input.length; start++) {
    for (const p of patterns) {
      if (input.subarray(start, start + p.bytes.length).equals(p.bytes)) {
        matches.push({ start, end: start + p.bytes.length, name: p.name });
      }
    }
  }
  matches.sort((x, y) => x.start - y.start || y.end - x.end);
  const out: Buffer[] = [];
  let at = 0;
  for (let i = 0; i < matches.length; ) {
    const first = matches[i]!;
    let end = first.end;
    for (i++; i < matches.length && matches[i]!.start < end; i++) end = Math.max(end, matches[i]!.end);
    out.push(input.subarray(at, first.start), Buffer.from(`<redacted:${first.name}>`));
    at = end;
  }
  out.push(input.subarray(at));
  return Buffer.concat(out);
}

test('when values are inserted anywhere and chunked at random then no value reaches the output', async () => {
  await fc.assert(
    fc.asyncProperty(secretsArb, picksArb, chunkSizesArb, async (secrets, picks, sizes) => {
      const { patterns } = maskPatterns(secrets);
      const input = textWith(patterns, picks);
      const out = await streamed(new Masker(secrets, HOLD), input, sizes);
      // Bytes between markers are the only text a reader sees; none may hold a value or encoding.
      for (const piece of out.toString('latin1').split(/<redacted:S\d+>/)) {
        for (const p of patterns) {
          assert.ok(!piece.includes(p.bytes.toString('latin1')), `${p.form} of ${p.name} leaked`);
        }
      }
    }),
    { numRuns: 400 },
  );
});

test('when output is chunked at random then the result equals masking it in one piece', async () => {
  await fc.assert(
    fc.asyncProperty(secretsArb, picksArb, chunkSizesArb, async (secrets, picks, sizes) => {
      const masker = new Masker(secrets, HOLD);
      const input = textWith(maskPatterns(secrets).patterns, picks);
      assert.deepEqual(await streamed(masker, input, sizes), masker.mask(input));
    }),
    { numRuns: 400 },
  );
});

test('when any text is masked then the result equals the all-occurrences reference model', () => {
  fc.assert(
    fc.property(secretsArb, picksArb, (secrets, picks) => {
      const { patterns } = maskPatterns(secrets);
      const input = textWith(patterns, picks);
      assert.deepEqual(
        new Masker(secrets).mask(input).toString('latin1'),
        reference(patterns, input).toString('latin1'),
      );
    }),
    { numRuns: 1000 },
  );
});

// Long values over a small alphabet, long fillers, large chunks: the scan's Wu-Manber skips
// (windows of the shortest pattern inside a chunk) run often, next to near-misses and overlaps.
const SMALL = ['a', 'b', 'c', 'A', '=', '%', ' ', '\n'];
const longValueArb = fc
  .array(fc.constantFrom(...SMALL), { minLength: 6, maxLength: 40 })
  .map((cs) => cs.join(''));
const longSecretsArb = fc
  .array(longValueArb, { minLength: 1, maxLength: 5 })
  .map((values): MaskSecret[] => values.map((value, i) => ({ name: `S${i}`, value })));
const longFillerArb = fc.array(fc.constantFrom(...SMALL), { maxLength: 120 }).map((cs) => cs.join(''));
const longPicksArb = fc.array(fc.tuple(longFillerArb, fc.integer({ min: -1, max: 1000 })), {
  maxLength: 10,
});

test('when long values sit in long text chunked at random then streaming equals the reference model', async () => {
  await fc.assert(
    fc.asyncProperty(
      longSecretsArb,
      longPicksArb,
      fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 6 }),
      async (secrets, picks, sizes) => {
        const { patterns } = maskPatterns(secrets);
        const input = textWith(patterns, picks);
        const out = await streamed(new Masker(secrets, HOLD), input, sizes);
        assert.equal(out.toString('latin1'), reference(patterns, input).toString('latin1'));
      },
    ),
    { numRuns: 500 },
  );
});

test('when no value is inserted then output is byte-identical to input', async () => {
  const bytesArb = fc.oneof(
    fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
    fc.array(char, { maxLength: 60 }).map((cs) => Buffer.from(cs.join(''))),
  );
  await fc.assert(
    fc.asyncProperty(secretsArb, bytesArb, chunkSizesArb, async (secrets, input, sizes) => {
      const { patterns } = maskPatterns(secrets);
      fc.pre(patterns.every((p) => input.indexOf(p.bytes) === -1));
      assert.ok((await streamed(new Masker(secrets), input, sizes)).equals(input));
    }),
    { numRuns: 400 },
  );
});

test('when a value sits at any offset of a base64 run then the characters it decides are masked', () => {
  const bytes = fc.uint8Array({ maxLength: 8 }).map((b) => Buffer.from(b));
  fc.assert(
    fc.property(
      valueArb,
      bytes,
      bytes,
      fc.constantFrom('base64', 'base64url' as const),
      (value, pre, post, enc) => {
        const n = Buffer.byteLength(value);
        const encoded = Buffer.concat([pre, Buffer.from(value), post]).toString(enc);
        const out = new Masker([{ name: 'V', value }]).mask(encoded).toString('latin1');
        const first = out.indexOf('<redacted:V>');
        assert.ok(first >= 0, out);
        const head = out.slice(0, first);
        const tail = out.slice(out.lastIndexOf('<redacted:V>') + '<redacted:V>'.length);
        // Left around the marker: only characters with at least one bit outside the value.
        assert.ok(head.length <= Math.ceil((4 * pre.length) / 3), `head ${head}`);
        assert.ok(tail.length <= encoded.length - Math.floor((4 * (pre.length + n)) / 3), `tail ${tail}`);
      },
    ),
    { numRuns: 500 },
  );
});
