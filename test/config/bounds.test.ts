import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError } from '../../src/base/errors.ts';
import { loadConfigFile, MAX_CONFIG_BYTES, parseConfig } from '../../src/config/file.ts';
import { NODE, runSecrun } from '../helpers/cli.ts';

// Config files are bounded: an alias bomb and a huge (or endless) file are a clear exit 78 at
// once, never an internal error, a memory blow-up or a read that ignores --timeout.

/** "Billion laughs": nine levels of nine aliases each, about 387 million strings when expanded. */
function aliasBomb(): string {
  const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  let prev = 'a';
  for (const n of 'bcdefghi') {
    lines.push(`${n}: &${n} [${Array(9).fill(`*${prev}`).join(',')}]`);
    prev = n;
  }
  return `${lines.join('\n')}\nenv: { X: "vault:secret/x#y" }\n`;
}

const expectConfigError = (fn: () => unknown, code: string, message: RegExp) =>
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ConfigError, String(err));
    assert.equal(err.code, code);
    assert.equal(err.exitCode, 78);
    assert.match(err.message, message);
    return true;
  });

describe('config file bounds', () => {
  test('when the YAML is an alias bomb then it is config.syntax (78) naming the aliases', () => {
    expectConfigError(
      () => parseConfig(aliasBomb(), 'bomb.yaml'),
      'config.syntax',
      /too many alias references/,
    );
  });

  test('when a config uses a few aliases then it still loads', () => {
    const withAlias = parseConfig('keep: &k ["A"]\ndrop: *k\n', 'ok.yaml');
    assert.deepEqual(withAlias.data.drop, ['A']);
  });

  test('when the file is larger than the limit then it is config.tooLarge (78)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'secrun-bounds-'));
    try {
      const file = join(dir, 'huge.yaml');
      writeFileSync(file, `# ${'x'.repeat(MAX_CONFIG_BYTES)}\n`);
      expectConfigError(() => loadConfigFile(file), 'config.tooLarge', /larger than 1 MiB/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('when the file never ends (/dev/zero) then secrun exits 78 at once', async () => {
    const r = await runSecrun(['run', '--config', '/dev/zero', '--', NODE, '-e', '0'], {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
    });
    assert.equal(r.code, 78, r.stderr);
    assert.match(r.stderr, /config file \/dev\/zero is larger than 1 MiB/);
  });
});
