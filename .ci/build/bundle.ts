// Bundles secrun with esbuild: `node .ci/build/bundle.ts` (npm run build) writes the ESM bundle
// dist/secrun.mjs with lazily imported chunks in dist/chunks/. .ci/build/exe.ts reuses
// bundleOptions() for the single CommonJS file inside the executable.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { BuildOptions, Plugin } from 'esbuild';
import { requireSupportedNode } from '../../bin/node-version.js';

const require = createRequire(import.meta.url);

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const DIST = `${ROOT}dist/`;

/** What the builds write, relative to the repository (the examples copy these paths). */
export const ARTIFACTS = {
  bundle: 'dist/secrun.mjs',
  chunks: 'dist/chunks',
  x64: 'dist/secrun-linux-x64',
  arm64: 'dist/secrun-linux-arm64',
} as const;

/** The package version, compiled into the bundle (`secrun --version`). */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { version: string }).version;
}

/**
 * The node flags every entry starts with (bin/secrun.js's shebang, the bundle's, the executable's
 * execArgv): the inspector may only bind the IPv6 discard prefix, so SIGUSR1 never opens it.
 * See bin/secrun.js for why not `--disable-sigusr1`.
 */
export const HARDENING_FLAGS = ['--inspect-port=[100::]:9229'];

/**
 * node-vault dependencies replaced in the bundle: axios and tv4 are never called (secrun passes
 * its transport and its argument check), debug is never enabled, https is taken on first use.
 */
const ALIASES: Record<string, string> = {
  axios: `${ROOT}src/providers/vault/axios-refused.ts`,
  debug: `${ROOT}src/providers/vault/debug-off.ts`,
  tv4: `${ROOT}src/providers/vault/tv4-left-out.ts`,
  https: `${ROOT}src/providers/vault/https-on-use.ts`,
};

/** Precompiles the config schema with ajv standalone: ESM source of a validator module. */
export function precompiledValidator(): string {
  const { Ajv } = require('ajv') as typeof import('ajv');
  const standalone = (
    require('ajv/dist/standalone') as { default: (ajv: unknown, validate: unknown) => string }
  ).default;
  const schema = JSON.parse(readFileSync(`${ROOT}schema/secrun.schema.json`, 'utf8')) as object;
  const ajv = new Ajv({ allErrors: true, strict: true, code: { source: true, esm: true } });
  const code = standalone(ajv, ajv.compile(schema));
  return `${code}\nexport function loadValidator() { return validate; }\n`;
}

/**
 * Rewrites `import { a, b as c } from 'node:x'` (and default and namespace imports) into
 * `const { a, b: c } = process.getBuiltinModule('node:x')`. An ESM import of a built-in module
 * builds its ESM facade, which reads every export, getters included: `node:fs` then loads
 * fs/promises, streams and readline (34 internal modules), `node:process` 46, `node:util` 36;
 * the CommonJS exports object loads none of them. Type-only names are dropped.
 */
export function builtinImportsToCalls(source: string): string {
  return source.replace(
    /^import\s+(?!type\s)([\w$]+|\*\s+as\s+[\w$]+|\{[^}]*\})\s+from\s+(['"])(node:[\w/]+)\2;?/gm,
    (_all, what: string, _quote: string, id: string) => {
      // globalThis: a module may name its import `process`.
      const call = `globalThis.process.getBuiltinModule(${JSON.stringify(id)})`;
      if (!what.startsWith('{')) return `const ${what.replace(/^\*\s+as\s+/, '')} = ${call};`;
      const names = what
        .slice(1, -1)
        .split(',')
        .map((n) => n.trim())
        .filter((n) => n !== '' && !n.startsWith('type '))
        .map((n) => n.replace(/\s+as\s+/, ': '));
      return names.length === 0 ? '' : `const { ${names.join(', ')} } = ${call};`;
    },
  );
}

/** esbuild plugin: the aliases, the precompiled validator, and bundled lazy `require()`s. */
export function secrunPlugin(): Plugin {
  return {
    name: 'secrun',
    setup(build) {
      build.onResolve({ filter: /^(axios|debug|tv4|https)$/ }, (args) => {
        const target = ALIASES[args.path];
        if (!target || !args.importer.includes('/node-vault/')) return undefined;
        return { path: target, namespace: 'secrun-cjs' };
      });
      // node-vault require()s them: hand it the module's default export, as CommonJS would.
      build.onLoad({ filter: /.*/, namespace: 'secrun-cjs' }, (args) => ({
        contents: `module.exports = require(${JSON.stringify(args.path)}).default;`,
        loader: 'js',
        resolveDir: ROOT,
      }));
      build.onLoad({ filter: /\/src\/config\/schema-validator\.ts$/ }, () => ({
        contents: precompiledValidator(),
        loader: 'js',
        resolveDir: `${ROOT}node_modules/ajv`,
      }));
      // src/ loads some modules on demand through createRequire(import.meta.url); without that
      // local `require` esbuild bundles them, still evaluated only when first required. Node's
      // built-in modules are taken without their ESM facade (see builtinImportsToCalls).
      build.onLoad({ filter: /\/src\/.*\.ts$/ }, (args) => {
        const source = readFileSync(args.path, 'utf8');
        const line = 'const require = createRequire(import.meta.url);';
        return { contents: builtinImportsToCalls(source.replace(line, '')), loader: 'ts' };
      });
      // The same for ESM dependencies (commander's entry imports fs, process and util).
      build.onLoad({ filter: /\/node_modules\/.*\.m?js$/ }, (args) => {
        const source = readFileSync(args.path, 'utf8');
        if (!/from\s+['"]node:/.test(source)) return undefined;
        return { contents: builtinImportsToCalls(source), loader: 'js' };
      });
    },
  };
}

/** Options shared by the ESM bundle and the executable's script. */
export function bundleOptions(): BuildOptions {
  return {
    bundle: true,
    platform: 'node',
    target: 'node22.18',
    define: { __SECRUN_VERSION__: JSON.stringify(packageVersion()) },
    plugins: [secrunPlugin()],
    legalComments: 'none',
    // Less text for V8 to scan at every boot (3-9 ms on a 10-reference run, alternating A/B);
    // names are kept, so stack traces stay readable.
    minifyWhitespace: true,
    minifySyntax: true,
    logLevel: 'warning',
    metafile: true,
  };
}

/** Builds `<outdir>/secrun.mjs` and `<outdir>/chunks/` (default: dist/). */
export async function buildBundle(outdir = DIST): Promise<import('esbuild').Metafile> {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    ...bundleOptions(),
    entryPoints: { secrun: `${ROOT}src/cli.ts` },
    format: 'esm',
    splitting: true,
    outdir,
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    // The first line runs the bundle with the hardening flags when started directly; CommonJS
    // dependencies need a real `require` for Node's built-in modules.
    banner: {
      js: "import { createRequire as __secrunRequire } from 'node:module'; const require = __secrunRequire(import.meta.url);",
    },
  });
  const { chmodSync, writeFileSync } = await import('node:fs');
  const entry = `${outdir}/secrun.mjs`;
  const shebang = `#!/usr/bin/env -S node ${HARDENING_FLAGS.join(' ')}\n`;
  // Run directly on an old Node, the entry says so (import.meta.main, which starts it, is newer).
  const versionCheck = `(${requireSupportedNode.toString()})();\n`;
  writeFileSync(entry, shebang + versionCheck + readFileSync(entry, 'utf8'));
  chmodSync(entry, 0o755);
  if (!result.metafile) throw new Error('esbuild returned no metafile');
  return result.metafile;
}

if (import.meta.main) {
  const { rmSync } = await import('node:fs');
  rmSync(`${DIST}chunks`, { recursive: true, force: true });
  const meta = await buildBundle();
  const bytes = Object.values(meta.outputs).reduce((n, o) => n + o.bytes, 0);
  process.stdout.write(
    `built dist/secrun.mjs (${Object.keys(meta.outputs).length} files, ${(bytes / 1024).toFixed(0)} KiB)\n`,
  );
}
