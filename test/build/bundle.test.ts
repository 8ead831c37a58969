// The bundle built by .ci/build/bundle.ts (npm run build), into a temporary directory.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Metafile } from 'esbuild';
import { buildBundle, packageVersion } from '../../.ci/build/bundle.ts';
import { NODE, shebangFlags } from '../helpers/cli.ts';

let out: string;
let meta: Metafile;
before(async () => {
  out = mkdtempSync(path.join(tmpdir(), 'secrun-bundle-'));
  meta = await buildBundle(out);
});
after(() => rmSync(out, { recursive: true, force: true }));

const inputs = (): string[] => Object.keys(meta.inputs);
const run = (args: string[], env: Record<string, string> = {}) =>
  execFileSync(NODE, [...shebangFlags(`${out}/secrun.mjs`), `${out}/secrun.mjs`, ...args], {
    env: { PATH: process.env['PATH'] ?? '', ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });

describe('the bundle', () => {
  test('when it is built then axios, its undici use, tv4 and the debug package are not in it', () => {
    assert.ok(
      inputs().some((f) => f.includes('node_modules/node-vault/')),
      'node-vault is bundled',
    );
    assert.deepEqual(
      inputs().filter((f) => /node_modules\/(axios|debug|tv4|undici|form-data|follow-redirects)\//.test(f)),
      [],
    );
    assert.ok(inputs().includes('src/providers/vault/axios-refused.ts'));
  });

  test('when it is built then the config schema is precompiled and ajv compiles nothing at run time', () => {
    const ajv = inputs().filter((f) => f.includes('node_modules/ajv/'));
    assert.deepEqual(ajv, ['node_modules/ajv/dist/runtime/ucs2length.js']);
  });

  /** The source files an output and its static imports hold: what loading that output compiles. */
  const staticInputs = (output: string): string[] => {
    const files = new Set<string>();
    const visit = (file: string): void => {
      if (files.has(file)) return;
      files.add(file);
      for (const i of meta.outputs[file]?.imports ?? []) {
        if (i.kind === 'import-statement' && !i.external) visit(i.path);
      }
    };
    visit(output);
    return [...files].flatMap((f) => Object.keys(meta.outputs[f]?.inputs ?? {}));
  };
  const outputOf = (input: string): string => {
    const found = Object.entries(meta.outputs).find(([, o]) => input in o.inputs);
    assert.ok(found, `${input} is bundled`);
    return found[0];
  };

  test('when a provider, the supervisor, check or the dev servers are used then they come from lazily imported chunks', () => {
    const entry = Object.entries(meta.outputs).find(([, o]) => o.entryPoint === 'src/cli.ts');
    assert.ok(entry, 'an entry output');
    // Everything the entry loads before its first dynamic import().
    const eager = staticInputs(entry[0]);
    for (const lazy of [
      'src/providers/vault/provider.ts',
      'src/providers/aws/provider.ts',
      'src/supervise/secret-runner.ts',
      'src/boot/check.ts',
      'src/boot/check-report.ts',
      'src/dev/index.ts',
      'src/boot/run.ts',
    ]) {
      assert.ok(inputs().includes(lazy), `${lazy} is bundled`);
      assert.ok(!eager.includes(lazy), `${lazy} is not loaded up front`);
    }
    assert.ok(
      !eager.some((f) => f.includes('node_modules/@aws-sdk/') || f.includes('node_modules/node-vault/')),
    );
  });

  test('when `run` has no config file then neither the YAML parser nor the schema validator is loaded', () => {
    const runPath = staticInputs(outputOf('src/boot/run.ts'));
    assert.ok(runPath.includes('src/config/load.ts'), 'run finds the config file up front');
    assert.deepEqual(
      runPath.filter((f) =>
        /node_modules\/yaml\/|src\/config\/(file|schema|schema-validator|key-lines)\.ts$/.test(f),
      ),
      [],
    );
    // They come with the config file: one chunk imported when a file is found.
    assert.ok(staticInputs(outputOf('src/config/file.ts')).some((f) => f.includes('node_modules/yaml/')));
  });

  test('when --version runs then it prints the package version', () => {
    assert.equal(run(['--version']).trim(), packageVersion());
  });

  test('when a config file is invalid then the precompiled validator reports the key and line', () => {
    const config = path.join(out, 'bad.yaml');
    writeFileSync(config, 'mode: exec\nnot_a_key: 1\ntimeout: soon\n');
    let stderr = '';
    let status: number | null = 0;
    try {
      run(['check', '--config', config]);
    } catch (err) {
      ({ stderr, status } = err as { stderr: string; status: number | null });
    }
    assert.equal(status, 78);
    assert.match(stderr, /not_a_key.*unknown key/);
    assert.match(stderr, /timeout.*duration/);
    assert.match(stderr, /bad\.yaml:2: not_a_key/);
  });

  test('when the bundle is run directly on a Node older than 22.18 then it fails with 78 and says why', () => {
    // The Node a user has is faked at its version, before the bundle loads.
    const old = (v: string) =>
      `data:text/javascript,Object.defineProperty(process,'versions',{value:{...process.versions,node:'${v}'}});` +
      `Object.defineProperty(process,'version',{value:'v${v}'})`;
    for (const [version, code] of [
      ['20.20.2', 78],
      ['22.17.1', 78],
      ['22.18.0', 0],
    ] as const) {
      const r = spawnSync(NODE, ['--import', old(version), `${out}/secrun.mjs`, 'run', '--', 'true'], {
        env: { PATH: process.env['PATH'] ?? '' },
        encoding: 'utf8',
      });
      assert.equal(r.status, code, `${version}: ${r.stderr}`);
      if (code === 78) assert.match(r.stderr, new RegExp(`Node\\.js >= 22\\.18 is required.*v${version}`));
    }
  });

  test('when it is built then the entry starts with the hardening shebang and is executable', () => {
    const first = readFileSync(`${out}/secrun.mjs`, 'utf8').split('\n', 1)[0];
    assert.equal(first, '#!/usr/bin/env -S node --inspect-port=[100::]:9229');
  });
});
