#!/usr/bin/env -S node --inspect-port=[100::]:9229
// Entry point. The shebang's flag keeps SIGUSR1 from ever opening the inspector, from the first
// instruction on (the listener secrun installs later leaves a window at startup): the inspector
// may only bind the IPv6 discard prefix (RFC 6666), which fails. `--disable-sigusr1` would leave
// SIGUSR1 blocked for the whole process (Node unblocks it only when it installs its own handler),
// so supervise mode could not forward it and an exec'd service would inherit it blocked. Checks
// the Node version, then runs src/ in a source checkout (so a stale build is never run by mistake) or the
// bundle dist/secrun.mjs in an installed package (which ships no src/).
import { existsSync } from 'node:fs';
import { requireSupportedNode } from './node-version.js';

requireSupportedNode();

const source = new URL('../src/cli.ts', import.meta.url);
const { main } = await import(
  existsSync(source) ? source.href : new URL('../dist/secrun.mjs', import.meta.url).href
);
await main();
