// The layout's import rules (see each src/<folder>/README.md): a test fails on a forbidden import,
// so the tree keeps showing the architecture.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

/** What each area may import besides itself and node: / npm packages. */
const ALLOWED: Record<string, readonly string[]> = {
  base: [],
  refs: ['base'],
  config: ['base', 'refs'],
  providers: ['base', 'config', 'providers/vault', 'providers/aws'],
  'providers/vault': ['base', 'config', 'providers'],
  'providers/aws': ['base', 'providers'],
  resolve: ['base', 'refs', 'providers'],
  mask: ['base'],
  launch: ['base', 'mask'],
  supervise: ['base', 'config', 'refs', 'resolve', 'providers', 'launch', 'mask'],
  boot: ['base', 'config', 'refs', 'resolve', 'providers', 'launch', 'supervise', 'mask', 'cli-options'],
  dev: ['base'],
  'cli-options': ['config'],
  cli: ['base', 'boot', 'cli-options', 'config', 'dev', 'launch'],
};

/** Only the registry creates providers: nothing else imports a provider's own folder. */
const PROVIDER_FOLDERS = ['providers/vault', 'providers/aws'];

/** Why importing `target` from `file` breaks the layout, or undefined when it is allowed. */
function violation(file: string, target: string): string | undefined {
  const from = areaOf(file);
  const to = areaOf(target);
  if (to === from) return undefined;
  if (!(ALLOWED[from] ?? []).includes(to)) return `${relative(SRC, file)} -> ${relative(SRC, target)}`;
  if (PROVIDER_FOLDERS.includes(to) && relative(SRC, file) !== 'providers/registry.ts') {
    return `${relative(SRC, file)} -> ${relative(SRC, target)} (only the registry creates providers)`;
  }
  return undefined;
}

function areaOf(file: string): string {
  const parts = relative(SRC, file).split('/');
  if (parts[0] === 'providers') return parts.length > 2 ? `providers/${parts[1]}` : 'providers';
  return parts.length > 1 ? (parts[0] ?? '') : (parts[0] ?? '').replace(/\.ts$/, '');
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from|import\()\s*'(\.[^']+)'/g)].map((m) =>
    normalize(join(dirname(file), m[1] ?? '')),
  );
}

/**
 * An ESM value import of node:http or node:https loads Node's bundled undici at boot (the ESM
 * facade reads the WebSocket/EventSource getters); the agent takes them from providers/http-modules.ts.
 */
function eagerHttpImport(text: string): boolean {
  return /^import (?!type )[^;]*from 'node:https?';/m.test(text);
}

describe('architecture', () => {
  const files = sourceFiles(SRC);

  test('when every import in src/ is listed then each crosses only into an allowed area', () => {
    const bad = files.flatMap((file) => importsOf(file).flatMap((target) => violation(file, target) ?? []));
    assert.deepEqual(bad, []);
  });

  test('when a forbidden import is checked then it is reported (the rules can fail)', () => {
    const at = (p: string): string => join(SRC, p);
    for (const [file, target] of [
      ['supervise/leases.ts', 'dev/vault/server.ts'],
      ['boot/run.ts', 'dev/index.ts'],
      ['providers/vault/client.ts', 'launch/exec.ts'],
      ['base/log.ts', 'config/options.ts'],
      ['boot/run.ts', 'providers/vault/provider.ts'],
      ['supervise/token-keeper.ts', 'providers/vault/session.ts'],
    ]) {
      assert.ok(violation(at(file ?? ''), at(target ?? '')), `${file} -> ${target}`);
    }
    assert.equal(violation(at('boot/run.ts'), at('providers/registry.ts')), undefined);
    assert.equal(violation(at('providers/registry.ts'), at('providers/vault/provider.ts')), undefined);
  });

  test('when the agent needs node:http(s) then it never imports them as ESM (undici stays unloaded)', () => {
    const bad = files.filter(
      (f) => !relative(SRC, f).startsWith('dev/') && eagerHttpImport(readFileSync(f, 'utf8')),
    );
    assert.deepEqual(
      bad.map((f) => relative(SRC, f)),
      [],
    );
    assert.ok(eagerHttpImport("import http from 'node:http';\n"));
    assert.ok(eagerHttpImport("import { Agent } from 'node:https';\n"));
    assert.ok(!eagerHttpImport("import type { Agent } from 'node:http';\n"));
  });

  test('when a folder of src/ is listed then it has a README saying what it owns and may import', () => {
    const folders = readdirSync(SRC, { withFileTypes: true }).filter((e) => e.isDirectory());
    for (const f of folders) {
      const readme = readFileSync(join(SRC, f.name, 'README.md'), 'utf8');
      assert.match(readme, /May import/i, f.name);
    }
  });
});
