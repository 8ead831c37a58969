import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import type { Transform } from 'node:stream';
import { test } from 'node:test';
import { Masker, type MaskOptions } from '../../src/mask/index.ts';

const HOLD: MaskOptions = { flushMs: Number.POSITIVE_INFINITY };
// 100 bytes: more than 57, so its base64 alone spans two 76-column lines.
const VALUE =
  'sk_live_51H-CANARY-wrapped-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456';

async function through(stream: Transform, chunks: Buffer[]): Promise<Buffer> {
  const collected = stream.toArray();
  for (const chunk of chunks) stream.write(chunk);
  stream.end();
  return Buffer.concat(await collected);
}

function wrap(b64: string, width: number, eol: string): string {
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += width) lines.push(b64.slice(i, i + width));
  return `${lines.join(eol)}${eol}`;
}

/** Every 12-character run of `encoded` (newlines removed) that still shows in `out`. */
function leaks(out: string, encoded: string): string[] {
  const flat = out.replace(/[\r\n]/g, '');
  const found: string[] = [];
  for (let i = 0; i + 12 <= encoded.length; i += 4) {
    const run = encoded.slice(i, i + 12);
    if (flat.includes(run)) found.push(run);
  }
  return found;
}

test('when coreutils base64 wraps a long value at 76 columns then every line of it is masked', () => {
  assert.ok(Buffer.byteLength(VALUE) > 57);
  const wrapped = execFileSync('base64', { input: VALUE }).toString('utf8');
  assert.ok(wrapped.split('\n').length >= 3, 'the encoding is wrapped');
  const out = new Masker([{ name: 'STRIPE_KEY', value: VALUE }]).mask(wrapped).toString('utf8');
  assert.match(out, /<redacted:STRIPE_KEY>/);
  assert.deepEqual(leaks(out, Buffer.from(VALUE).toString('base64')), [], out);
});

test('when a value is base64-wrapped as MIME (76, CRLF) or PEM (64) at any offset inside a larger blob then it is masked', () => {
  const masker = new Masker([{ name: 'K', value: VALUE }]);
  for (const [width, eol] of [
    [76, '\r\n'],
    [64, '\n'],
    [76, '\n'],
  ] as const) {
    for (let pad = 0; pad < 80; pad += 7) {
      const blob = Buffer.concat([Buffer.alloc(pad, 0x41), Buffer.from(VALUE), Buffer.from('{"tail":1}')]);
      const text = `-----BEGIN DATA-----\n${wrap(blob.toString('base64'), width, eol)}-----END DATA-----\n`;
      const out = masker.mask(text).toString('utf8');
      assert.match(out, /<redacted:K>/, `width ${width}, offset ${pad}`);
      // The characters that depend on the value alone (its shifted core) must all be gone.
      const core = Buffer.concat([Buffer.alloc(pad % 3), Buffer.from(VALUE)])
        .toString('base64')
        .slice(Math.ceil((4 * (pad % 3)) / 3), Math.floor((4 * (Buffer.byteLength(VALUE) + (pad % 3))) / 3));
      assert.deepEqual(leaks(out, core), [], `width ${width}, offset ${pad}: ${out}`);
      assert.match(out, /^-----BEGIN DATA-----\n/);
      assert.match(out, /-----END DATA-----\n$/);
    }
  }
});

test('when wrapped base64 arrives split into chunks of any size then the output is the same as in one piece', async () => {
  const masker = new Masker([{ name: 'K', value: VALUE }], HOLD);
  const text = Buffer.from(
    `line before\n${execFileSync('base64', { input: VALUE }).toString('utf8')}after\n`,
  );
  const whole = masker.mask(text);
  assert.match(whole.toString('utf8'), /<redacted:K>/);
  for (const size of [1, 2, 3, 5, 13, 76, 77]) {
    const chunks: Buffer[] = [];
    for (let i = 0; i < text.length; i += size) chunks.push(text.subarray(i, i + size));
    assert.deepEqual(await through(masker.createStream(), chunks), whole, `chunks of ${size}`);
  }
});

test('when unrelated text has line breaks between base64-like words then it is left alone', () => {
  const masker = new Masker([{ name: 'K', value: VALUE }]);
  const text = 'first line\nsecond\r\nQUJD\nplain words 1234\n';
  assert.equal(masker.mask(text).toString('utf8'), text);
});
