// The Node version check, shared by bin/secrun.js and the bundle (.ci/build/bundle.ts puts this
// function's source at the top of dist/secrun.mjs, so running the bundle directly on an old Node
// fails with this message instead of doing nothing). Self-contained: no imports, no closures.
export function requireSupportedNode() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major > 22 || (major === 22 && minor >= 18)) return;
  process.stderr.write(
    `secrun: error: Node.js >= 22.18 is required (process.execve, type stripping); this is ${process.version}.\n` +
      '  In a checkout, use the Node 24 that npm ci installs: `npx secrun ...` or `node_modules/.bin/node bin/secrun.js ...`;\n' +
      '  or use the standalone executable (`npm run build:exe` -> dist/secrun-linux-x64), which needs no Node.\n',
  );
  process.exit(78);
}
