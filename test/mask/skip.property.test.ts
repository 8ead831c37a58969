// The Wu-Manber skips in scan() and in the wrapped-base64 pass must change nothing: masking
// with them equals masking with them turned off, for any text, values and chunking.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { type Automaton, compile } from '../../src/mask/automaton.ts';
import { maskPatterns } from '../../src/mask/encodings.ts';
import { Scanner } from '../../src/mask/stream.ts';
import type { MaskSecret } from '../../src/mask/types.ts';

function run(a: Automaton, w: Automaton | undefined, input: Buffer, sizes: number[]): Buffer {
  const scanner = new Scanner(a, w);
  const out: Buffer[] = [];
  for (let at = 0, i = 0; at < input.length; i++) {
    const size = sizes[i % sizes.length]!;
    out.push(scanner.write(input.subarray(at, at + size)));
    at += size;
  }
  out.push(scanner.release());
  return Buffer.concat(out);
}

const noSkip = (a: Automaton): Automaton => ({ ...a, skip: undefined });

/** Base64 text with line breaks put in at random places (as wrapped output would have). */
function wrapAt(text: string, cuts: number[], eol: string): string {
  let out = text;
  for (const cut of [...cuts].sort((x, y) => y - x)) {
    const at = cut % (out.length + 1);
    out = `${out.slice(0, at)}${eol}${out.slice(at)}`;
  }
  return out;
}

// Values long enough (>= 48 bytes) for the wrapped pass; a small alphabet, so grams repeat.
const ALPHA = ['a', 'b', 'c', 'Q', 'U', 'J', 'D', '0', '1', '+', '/', '='];
const valueArb = fc.array(fc.constantFrom(...ALPHA), { minLength: 48, maxLength: 80 }).map((c) => c.join(''));
const secretsArb = fc
  .array(valueArb, { minLength: 1, maxLength: 3 })
  .map((values): MaskSecret[] => values.map((value, i) => ({ name: `S${i}`, value })));
const fillerArb = fc
  .array(fc.constantFrom(...ALPHA, 'Y', 'W', 'J', 'j', '\n', '\r\n', ' '), { maxLength: 150 })
  .map((c) => c.join(''));
const pieceArb = fc.tuple(
  fillerArb,
  fc.integer({ min: -1, max: 100 }),
  fc.array(fc.nat(200), { maxLength: 4 }),
  fc.constantFrom('\n', '\r\n', '\r'),
);

test('when values and their base64, wrapped anywhere, sit in any text then skipping changes no byte of the output', () => {
  fc.assert(
    fc.property(
      secretsArb,
      fc.array(pieceArb, { maxLength: 8 }),
      fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 5 }),
      (secrets, pieces, sizes) => {
        const { patterns, wrapped } = maskPatterns(secrets);
        const a = compile(patterns);
        const w = wrapped.length > 0 ? compile(wrapped) : undefined;
        assert.ok(a.skip !== undefined && w?.skip !== undefined, 'both passes skip');
        const text = pieces
          .map(([filler, pick, cuts, eol]) => {
            if (pick < 0) return filler;
            const p = patterns[pick % patterns.length]!;
            return filler + wrapAt(p.bytes.toString('latin1'), cuts, eol);
          })
          .join('');
        const input = Buffer.from(text, 'latin1');
        const expected = run(noSkip(a), w && noSkip(w), input, sizes).toString('latin1');
        assert.equal(run(a, w, input, sizes).toString('latin1'), expected);
      },
    ),
    { numRuns: 600 },
  );
});
