/**
 * Node's http and https modules, taken without an ESM `import`. Importing `node:http` as ESM
 * builds the module's ESM facade, which reads every export, including the lazy `WebSocket` /
 * `EventSource` getters that load Node's bundled undici: about 15-25 ms of every boot, for code
 * secrun never calls. `process.getBuiltinModule` returns the CommonJS exports as they are.
 */
export const http = process.getBuiltinModule('node:http') as typeof import('node:http');
export const https = process.getBuiltinModule('node:https') as typeof import('node:https');
