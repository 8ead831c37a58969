/**
 * Node's http and https modules, taken without an ESM `import` and on first use. Importing
 * `node:http` as ESM builds the module's ESM facade, which reads every export, including the lazy
 * `WebSocket` / `EventSource` getters that load Node's bundled undici: about 15-25 ms of every
 * boot, for code secrun never calls. `process.getBuiltinModule` returns the CommonJS exports as
 * they are; taking https only when an https address is used keeps TLS and crypto out of a boot
 * against a plain-http Vault.
 */
export const http = (): typeof import('node:http') =>
  process.getBuiltinModule('node:http') as typeof import('node:http');
export const https = (): typeof import('node:https') =>
  process.getBuiltinModule('node:https') as typeof import('node:https');
