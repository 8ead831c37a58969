import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { Transform } from 'node:stream';
import { test } from 'node:test';
import {
  createMasker,
  DEFAULT_FLUSH_MS,
  Masker,
  type MaskOptions,
  type MaskSecret,
  maskPatterns,
} from '../../src/mask/index.ts';
import { until } from '../helpers/poll.ts';

const HOLD: MaskOptions = { flushMs: Number.POSITIVE_INFINITY };

/** Writes the chunks, ends the stream and returns everything it put out. */
async function through(stream: Transform, chunks: Array<Buffer | string>): Promise<Buffer> {
  const collected = stream.toArray();
  for (const chunk of chunks) stream.write(chunk);
  stream.end();
  return Buffer.concat(await collected);
}

/** Deterministic bytes (xorshift32). */
function randomBytes(length: number, seed: number): Buffer {
  let x = seed >>> 0 || 1;
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

function splitEvery(data: Buffer, sizes: number[]): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0, i = 0; at < data.length; i++) {
    const size = sizes[i % sizes.length]!;
    chunks.push(data.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

test('when values are split at every byte into two chunks then each is still replaced', async () => {
  const secrets: MaskSecret[] = [
    { name: 'DB_PASSWORD', value: 'hunter2-correct-horse' },
    { name: 'UNICODE', value: 'pässwörd😀🔑' },
    { name: 'REGEX', value: 'a.b*c(d)[e]$^|\\' },
  ];
  const masker = new Masker(secrets, HOLD);
  for (const { name, value } of secrets) {
    const input = Buffer.from(`before ${value} after\n`);
    const expected = `before <redacted:${name}> after\n`;
    for (let at = 1; at < input.length; at++) {
      const out = await through(masker.createStream(), [input.subarray(0, at), input.subarray(at)]);
      assert.equal(out.toString(), expected, `${name} split at byte ${at}`);
    }
  }
});

test('when output arrives one byte at a time then values are replaced and the rest is unchanged', async () => {
  const masker = new Masker([
    { name: 'TOKEN', value: 's.AbCdEf0123456789' },
    { name: 'UNICODE', value: 'clé-😀-secrète' },
  ]);
  const input = Buffer.from('token s.AbCdEf0123456789 and clé-😀-secrète and s.AbCdEf012345678 end\n');
  const out = await through(masker.createStream(), splitEvery(input, [1]));
  assert.equal(out.toString(), 'token <redacted:TOKEN> and <redacted:UNICODE> and s.AbCdEf012345678 end\n');
});

test('when two values overlap then the union is replaced, named after the leftmost match', async () => {
  const forward = new Masker(
    [
      { name: 'A', value: 'abcd' },
      { name: 'B', value: 'bcde' },
    ],
    HOLD,
  );
  const backward = new Masker(
    [
      { name: 'B', value: 'bcde' },
      { name: 'A', value: 'abcd' },
    ],
    HOLD,
  );
  for (const masker of [forward, backward]) {
    assert.equal(masker.mask('xabcdex').toString(), 'x<redacted:A>x');
    assert.equal(masker.mask('xbcdex').toString(), 'x<redacted:B>x');
    assert.equal(masker.mask('abcd bcde').toString(), '<redacted:A> <redacted:B>');
    assert.equal(masker.mask('abcdbcde').toString(), '<redacted:A><redacted:B>');
  }
  const input = Buffer.from('--abcde--');
  for (let at = 1; at < input.length; at++) {
    const out = await through(forward.createStream(), [input.subarray(0, at), input.subarray(at)]);
    assert.equal(out.toString(), '--<redacted:A>--', `split at ${at}`);
  }
});

test('when one value contains another then the longest match at a position wins', async () => {
  const masker = new Masker(
    [
      { name: 'SHORT', value: 'secret' },
      { name: 'LONG', value: 'secret-long' },
      { name: 'INNER', value: 'ABCD' },
      { name: 'OUTER', value: 'xxABCDyy' },
    ],
    HOLD,
  );
  assert.equal(
    masker.mask('secret-long secret secret-lon xxABCDyy ABCD xxABCDy').toString(),
    '<redacted:LONG> <redacted:SHORT> <redacted:SHORT>-lon <redacted:OUTER> <redacted:INNER> xx<redacted:INNER>y',
  );
  const input = Buffer.from('[secret-long]');
  for (let at = 1; at < input.length; at++) {
    const out = await through(masker.createStream(), [input.subarray(0, at), input.subarray(at)]);
    assert.equal(out.toString(), '[<redacted:LONG>]', `split at ${at}`);
  }
});

test('when matches chain through overlaps then no byte of either value survives', () => {
  // Y's tail is X's head: replacing Y alone would print most of X.
  const masker = new Masker(
    [
      { name: 'X', value: '0000-x-secret-part' },
      { name: 'Y', value: 'y-secret-0000' },
      { name: 'Z', value: '-part+z-tail' },
    ],
    HOLD,
  );
  assert.equal(masker.mask('<y-secret-0000-x-secret-part+z-tail>').toString(), '<<redacted:Y>>');
  // Adjacent (not overlapping) matches stay separate.
  assert.equal(masker.mask('y-secret-00000000-x-secret-part').toString(), '<redacted:Y><redacted:X>');
});

test('when a value has regex metacharacters then it is matched literally', () => {
  const value = 'a.b*c(d)[e]$^|\\';
  const masker = new Masker([{ name: 'RX', value }], HOLD);
  assert.equal(masker.mask(`x ${value} y`).toString(), 'x <redacted:RX> y');
  for (const near of [
    'aXb*c(d)[e]$^|\\',
    'a.bbbc(d)[e]$^|\\',
    'a.b*cd[e]$^|\\',
    'a.b*c(d)e$^|\\',
    'a.b*c(d)[e]^|\\',
  ]) {
    assert.equal(masker.mask(near).toString(), near);
  }
  const star = new Masker([{ name: 'STAR', value: '.*.*' }], HOLD);
  assert.equal(star.mask('abcdef .*.* x').toString(), 'abcdef <redacted:STAR> x');
});

test('when random binary output contains no value then it passes through byte-identical', async () => {
  const masker = new Masker([
    { name: 'A', value: 'correct-horse-battery' },
    { name: 'B', value: 'ünïcødé-sécret' },
  ]);
  const input = randomBytes(256 * 1024, 42);
  for (const { bytes } of maskPatterns([{ name: 'A', value: 'correct-horse-battery' }]).patterns) {
    assert.equal(input.indexOf(bytes), -1, 'fixture must not contain a pattern');
  }
  const out = await through(masker.createStream(), splitEvery(input, [1, 7, 4096, 3, 65536, 2]));
  assert.ok(out.equals(input));
  assert.ok(masker.mask(input).equals(input));
});

test('when random binary output embeds values then only the values are replaced', async () => {
  const masker = new Masker([
    { name: 'A', value: 'correct-horse-battery' },
    { name: 'B', value: 'ünïcødé-sécret' },
  ]);
  const parts = [randomBytes(1000, 1), randomBytes(777, 2), randomBytes(4096, 3), randomBytes(5, 4)];
  const input = Buffer.concat([
    parts[0]!,
    Buffer.from('correct-horse-battery'),
    parts[1]!,
    Buffer.from('ünïcødé-sécret'),
    parts[2]!,
    Buffer.from('correct-horse-battery'),
    parts[3]!,
  ]);
  const expected = Buffer.concat([
    parts[0]!,
    Buffer.from('<redacted:A>'),
    parts[1]!,
    Buffer.from('<redacted:B>'),
    parts[2]!,
    Buffer.from('<redacted:A>'),
    parts[3]!,
  ]);
  for (const sizes of [[1], [3, 5], [64], [100000]]) {
    const out = await through(masker.createStream(), splitEvery(input, sizes));
    assert.ok(out.equals(expected), `chunk sizes ${sizes.join(',')}`);
  }
});

test('when output is split inside a UTF-8 code point then bytes pass through unchanged', async () => {
  const masker = new Masker([{ name: 'S', value: '日本語のパスワード' }], HOLD);
  const input = Buffer.from('ログ: 日本語のパス 😀 日本語のパスワード é\n');
  for (let at = 1; at < input.length; at++) {
    const out = await through(masker.createStream(), [input.subarray(0, at), input.subarray(at)]);
    assert.equal(out.toString(), 'ログ: 日本語のパス 😀 <redacted:S> é\n', `split at ${at}`);
  }
});

test('when output has colours and escapes then they are kept around a replaced value', () => {
  const masker = new Masker([{ name: 'PW', value: 'hunter2-pw' }]);
  const input = '\x1b[1;31mERROR\x1b[0m password=\x1b[33mhunter2-pw\x1b[0m\r\n\x1b[2K\rprogress 50%\x07';
  assert.equal(
    masker.mask(input).toString(),
    '\x1b[1;31mERROR\x1b[0m password=\x1b[33m<redacted:PW>\x1b[0m\r\n\x1b[2K\rprogress 50%\x07',
  );
});

test('when a value appears encoded then its base64, base64url, URI and JSON forms are replaced', () => {
  const value = 'p@ss/wörd+"q"\n\\ ~?>';
  const base64 = Buffer.from(value).toString('base64').replace(/=+$/, '');
  const base64url = Buffer.from(value).toString('base64url');
  const uri = encodeURIComponent(value);
  const form = new URLSearchParams({ v: value }).toString().slice(2);
  const json = JSON.stringify(value).slice(1, -1);
  const jsonAscii = json.replace('ö', '\\u00f6');
  const forms = [value, base64, `${base64}=`, base64url, uri, form, json, jsonAscii];
  assert.equal(new Set(forms).size, forms.length, 'fixture: every form must differ');
  assert.match(base64, /[+/]/, 'fixture: base64url must differ from base64');
  const masker = new Masker([{ name: 'PW', value }]);
  for (const encoded of forms) {
    assert.equal(masker.mask(`v=${encoded};`).toString().replace('=;', ';'), 'v=<redacted:PW>;', encoded);
  }
  const shown = new Set(maskPatterns([{ name: 'PW', value }]).patterns.map((p) => p.form));
  for (const f of [
    'raw',
    'base64',
    'base64url',
    'base64-shift1',
    'base64-shift2',
    'uri',
    'form',
    'json',
    'json-ascii',
  ]) {
    assert.ok(shown.has(f as never), `form ${f}`);
  }
});

test('when a value is base64-encoded inside a larger run then every character it decides is replaced', () => {
  const value = 'sk_live_51HqLyjWDarjtT1zdp7dc';
  const n = Buffer.byteLength(value);
  const masker = new Masker([{ name: 'KEY', value }]);
  for (let prefix = 0; prefix <= 5; prefix++) {
    for (let suffix = 0; suffix <= 4; suffix++) {
      const blob = Buffer.concat([
        randomBytes(prefix, 7 + prefix),
        Buffer.from(value),
        randomBytes(suffix, 99 + suffix),
      ]);
      for (const encoding of ['base64', 'base64url'] as const) {
        const encoded = blob.toString(encoding);
        const out = masker.mask(`data: ${encoded}\n`).toString();
        const m = /^data: ([A-Za-z0-9+/_=-]*)<redacted:KEY>([A-Za-z0-9+/_=-]*)\n$/.exec(out);
        assert.ok(m, `${encoding} prefix ${prefix} suffix ${suffix}: ${out}`);
        // Characters left must each depend on at least one bit outside the value.
        assert.ok(m[1]!.length <= Math.ceil((4 * prefix) / 3), `head ${m[1]} (prefix ${prefix})`);
        const decided = Math.floor((4 * (prefix + n)) / 3);
        assert.ok(
          m[2]!.replace(/=+$/, '').length <= encoded.replace(/=+$/, '').length - decided,
          `tail ${m[2]}`,
        );
      }
    }
  }
});

test('when a value has surrounding whitespace then the trimmed value is replaced too', () => {
  const masker = new Masker([{ name: 'FILE', value: 'from-a-file-secret\n' }]);
  assert.equal(masker.mask('a from-a-file-secret b').toString(), 'a <redacted:FILE> b');
  assert.equal(masker.mask('a from-a-file-secret\n b').toString(), 'a <redacted:FILE> b');
});

test('when values are shorter than minLength then they are skipped, reported once and printed', () => {
  const { transform, skipped, masker } = createMasker([
    { name: 'PIN', value: '123' },
    { name: 'EMPTY', value: '' },
    { name: 'EMOJI', value: '😀😀😀' },
    { name: 'PIN', value: '456' },
    { name: 'ACCENT', value: 'éééé' },
  ]);
  transform.destroy();
  assert.deepEqual(skipped, ['PIN', 'EMPTY', 'EMOJI']);
  assert.equal(masker.mask('123 456 😀😀😀 éééé').toString(), '123 456 😀😀😀 <redacted:ACCENT>');
  const strict = new Masker([{ name: 'SHORTISH', value: 'abcdefg' }], { minLength: 8 });
  assert.deepEqual(strict.skipped, ['SHORTISH']);
  assert.equal(strict.stats.patterns, 0);
  assert.equal(strict.mask('abcdefg').toString(), 'abcdefg');
});

test('when there are no values then every chunk is passed on as is', async () => {
  const masker = new Masker([]);
  assert.equal(masker.stats.patterns, 0);
  const input = randomBytes(10000, 5);
  const out = await through(masker.createStream(), splitEvery(input, [1, 333, 9999]));
  assert.ok(out.equals(input));
});

test('when a prefix of a value ends the stream then it is written out at end', async () => {
  const masker = new Masker(
    [
      { name: 'A', value: 'abcd' },
      { name: 'LONGER', value: 'abcdefgh' },
    ],
    HOLD,
  );
  assert.equal((await through(masker.createStream(), ['tail ab'])).toString(), 'tail ab');
  assert.equal((await through(masker.createStream(), ['xx', 'abcd'])).toString(), 'xx<redacted:A>');
  assert.equal((await through(masker.createStream(), ['xxabcdef', 'g'])).toString(), 'xx<redacted:A>efg');
  assert.equal((await through(masker.createStream(), ['xxabcdef', 'gh'])).toString(), 'xx<redacted:LONGER>');
});

test('when no more data arrives then a held prefix is written out within the flush deadline', async () => {
  const masker = new Masker([{ name: 'S', value: 'abcdef-secret' }], { flushMs: 20 });
  const stream = masker.createStream();
  const seen: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => seen.push(chunk));
  const text = () => Buffer.concat(seen).toString();
  stream.write('prompt> abcd');
  await until('the held prefix', () => text() === 'prompt> abcd');
  stream.write('ef-secret\n');
  stream.end();
  await new Promise((resolve) => stream.on('end', resolve));
  // The part printed before the pause stays printed; the rest of the value is still replaced.
  assert.equal(text(), 'prompt> abcd<redacted:S>\n');
});

test('when bytes could start a value then they are held exactly flushMs after the last chunk', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const masker = new Masker([{ name: 'S', value: 'abcdef' }], { flushMs: 50 });
  const stream = masker.createStream();
  const seen: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => seen.push(chunk));
  const text = () => Buffer.concat(seen).toString();

  stream.write('log ab');
  await tick();
  assert.equal(text(), 'log ', 'bytes that cannot start a value go out at once');
  t.mock.timers.tick(40);
  stream.write('c');
  await tick();
  t.mock.timers.tick(40);
  await tick();
  assert.equal(text(), 'log ', 'a new chunk restarts the timer');
  t.mock.timers.tick(10);
  await tick();
  assert.equal(text(), 'log abc');
  stream.write('def!');
  await tick();
  assert.equal(text(), 'log abc<redacted:S>!');
  stream.destroy();
});

test('when flushMs is Infinity then a held prefix waits for the end of the stream', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const stream = new Masker([{ name: 'S', value: 'abcdef' }], HOLD).createStream();
  const seen: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => seen.push(chunk));
  stream.write('x abc');
  await tick();
  t.mock.timers.tick(24 * 3600 * 1000);
  await tick();
  assert.equal(Buffer.concat(seen).toString(), 'x ');
  stream.end();
  await new Promise((resolve) => stream.on('end', resolve));
  assert.equal(Buffer.concat(seen).toString(), 'x abc');
});

test('when the stream is destroyed while holding then the timer writes nothing', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const stream = new Masker([{ name: 'S', value: 'abcdef' }], { flushMs: 10 }).createStream();
  const seen: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => seen.push(chunk));
  stream.on('error', () => undefined);
  stream.write('abc');
  await tick();
  stream.destroy();
  t.mock.timers.tick(1000);
  await tick();
  assert.equal(Buffer.concat(seen).toString(), '');
});

test('when the default options are used then flushMs is short and minLength is 4', () => {
  assert.ok(DEFAULT_FLUSH_MS > 0 && DEFAULT_FLUSH_MS <= 100);
  assert.deepEqual(new Masker([{ name: 'X', value: 'abc' }]).skipped, ['X']);
  assert.deepEqual(new Masker([{ name: 'X', value: 'abcd' }]).skipped, []);
});

test('when options or secrets are malformed then a TypeError names the problem', () => {
  assert.throws(() => new Masker([], { minLength: 0 }), { name: 'TypeError', message: /minLength.*got 0/ });
  assert.throws(() => new Masker([], { minLength: 2.5 }), { name: 'TypeError', message: /minLength/ });
  assert.throws(() => new Masker([], { flushMs: -1 }), { name: 'TypeError', message: /flushMs.*got -1/ });
  assert.throws(() => new Masker([], { flushMs: Number.NaN }), { name: 'TypeError', message: /flushMs/ });
  assert.throws(() => new Masker([{ name: 'A', value: 5 as unknown as string }]), {
    name: 'TypeError',
    message: /secrets\[0\]/,
  });
  assert.throws(() => new Masker('x' as unknown as MaskSecret[]), { name: 'TypeError', message: /array/ });
});

test('when error messages and stats are shown then they never contain a value', () => {
  const value = 'canary-7f3a9c21-value';
  const masker = new Masker([{ name: 'C', value }]);
  assert.ok(!JSON.stringify(masker).includes(value));
  assert.ok(!JSON.stringify(masker.stats).includes(value));
  assert.throws(
    () => new Masker([{ name: 'C', value }], { minLength: -1 }),
    (err: Error) => !err.message.includes(value),
  );
});

test('when there are many long values then the sparse automaton masks them like the dense one', async () => {
  let seed = 11;
  const secrets: MaskSecret[] = Array.from({ length: 24 }, (_, i) => ({
    name: `PEM_${i}`,
    value: randomBytes(600, seed++).toString('base64').slice(0, 700),
  }));
  const masker = new Masker(secrets, HOLD);
  assert.ok(masker.stats.denseStates < masker.stats.states, JSON.stringify(masker.stats));
  const pieces: string[] = [];
  const expected: string[] = [];
  secrets.forEach(({ name, value }, i) => {
    const filler = `line ${i} ${value.slice(0, 40 + i)}\n`;
    const base64 = Buffer.from(value).toString('base64');
    const padding = base64.slice(base64.replace(/=+$/, '').length);
    pieces.push(filler, value, ' ', base64, '\n');
    // Padding stays: it tells only the length modulo 3.
    expected.push(filler, `<redacted:${name}>`, ' ', `<redacted:${name}>${padding}`, '\n');
  });
  const input = Buffer.from(pieces.join(''));
  assert.equal(masker.mask(input).toString(), expected.join(''));
  for (const sizes of [[1], [13, 700], [4096]]) {
    const out = await through(masker.createStream(), splitEvery(input, sizes));
    assert.equal(out.toString(), expected.join(''), `chunk sizes ${sizes.join(',')}`);
  }
});

test('when a real child writes a value in two parts then the piped output is masked', async (t) => {
  const script = [
    "process.stdout.write('token=s.Xy9');",
    "setTimeout(() => process.stdout.write('Zk2-vault-token\\n'), 30);",
  ].join('');
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const stream = new Masker([{ name: 'VAULT_TOKEN', value: 's.Xy9Zk2-vault-token' }], {
    flushMs: 2000,
  }).createStream();
  const collected = stream.toArray();
  child.stdout.pipe(stream);
  const out = Buffer.concat(await collected).toString();
  assert.equal(out, 'token=<redacted:VAULT_TOKEN>\n');
});
