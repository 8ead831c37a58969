#!/usr/bin/env node
// Entry point: checks the Node version, then runs src/ in a source checkout (so a stale dist/ is
// never run by mistake) or the built dist/ in an installed package (which ships no src/).
import { existsSync } from 'node:fs';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `secrun: error: Node.js >= 22.18 is required (process.execve, type stripping); this is ${process.version}\n`,
  );
  process.exit(78);
}

const source = new URL('../src/cli.ts', import.meta.url);
const { main } = await import(
  existsSync(source) ? source.href : new URL('../dist/cli.js', import.meta.url).href
);
await main();
