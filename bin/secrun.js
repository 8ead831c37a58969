#!/usr/bin/env node
// Entry point: checks the Node version, then runs the built CLI (dist/) or, in a source checkout, src/.
import { existsSync } from 'node:fs';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `secrun: error: Node.js >= 22.18 is required (process.execve, type stripping); this is ${process.version}\n`,
  );
  process.exit(78);
}

const built = new URL('../dist/cli.js', import.meta.url);
const { main } = await import(
  existsSync(built) ? built.href : new URL('../src/cli.ts', import.meta.url).href
);
await main();
