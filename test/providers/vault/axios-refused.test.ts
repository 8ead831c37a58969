// The bundle aliases axios (node-vault's HTTP client) to src/providers/vault/axios-refused.ts and
// tv4 (its argument validator) to tv4-left-out.ts. Here node-vault gets the same stand-ins through
// a module hook: every request secrun makes must still work, each one must pass through secrun's
// HttpTransport, and node-vault's argument check must be secrun's (args-check.ts).
import assert from 'node:assert/strict';
import { registerHooks } from 'node:module';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

const STAND_INS: Record<string, string> = {
  axios: fileURLToPath(new URL('../../../src/providers/vault/axios-refused.ts', import.meta.url)),
  tv4: fileURLToPath(new URL('../../../src/providers/vault/tv4-left-out.ts', import.meta.url)),
};
const standInUrl = (name: string): string => `${pathToFileURL(STAND_INS[name] ?? '').href}?as-commonjs`;
const resolved: Record<string, number> = { axios: 0, tv4: 0 };
registerHooks({
  resolve(specifier, context, nextResolve) {
    if (specifier in STAND_INS && context.parentURL?.includes('/node-vault/')) {
      resolved[specifier] = (resolved[specifier] ?? 0) + 1;
      return { url: standInUrl(specifier), format: 'commonjs', shortCircuit: true };
    }
    return nextResolve(specifier, context);
  },
  load(url, context, nextLoad) {
    const name = Object.keys(STAND_INS).find((n) => url === standInUrl(n));
    if (name === undefined) return nextLoad(url, context);
    // node-vault require()s them: hand it the stand-in's default export, as the bundle does.
    return {
      format: 'commonjs',
      source: `module.exports = require(${JSON.stringify(STAND_INS[name])}).default;`,
      shortCircuit: true,
    };
  },
});

// Loaded after the hook, so node-vault sees the stand-in.
const { silentLogger } = await import('../../../src/base/log.ts');
const { parseSeed } = await import('../../../src/dev/seed.ts');
const { startVaultServer } = await import('../../../src/dev/vault/server.ts');
const { VaultClient } = await import('../../../src/providers/vault/client.ts');
const { readVaultSettings } = await import('../../../src/providers/vault/env-settings.ts');
const { HttpTransport } = await import('../../../src/providers/vault/transport.ts');
const { default: standIn } = await import('../../../src/providers/vault/axios-refused.ts');
const { default: tv4StandIn } = await import('../../../src/providers/vault/tv4-left-out.ts');

const ROOT_TOKEN = 'hvs.axios-refused-root-token';
let vault: Awaited<ReturnType<typeof startVaultServer>>;
before(async () => {
  vault = await startVaultServer({
    seed: parseSeed(
      `
vault:
  root_token: ${ROOT_TOKEN}
  mounts: { secret: { type: kv, version: 2 } }
  kv:
    secret/app/db: { password: pw }
`,
      'axios-refused',
    ),
  });
});
after(() => vault.close());

test('when the axios stand-in is called then it throws', () => {
  assert.throws(() => standIn(), /node-vault tried to use axios/);
  assert.throws(() => standIn.create(), /node-vault tried to use axios/);
  assert.throws(() => tv4StandIn.validate(), /node-vault used tv4/);
});

test('when node-vault gets the axios and tv4 stand-ins then GET, POST, PUT and DELETE all go through secrun transport and argument check', async () => {
  const sent: string[] = [];
  const original = HttpTransport.prototype.send;
  HttpTransport.prototype.send = function (this: InstanceType<typeof HttpTransport>, options) {
    sent.push(`${options.method} ${new URL(options.uri).pathname}`);
    return original.call(this, options);
  };
  const client = new VaultClient(readVaultSettings({ VAULT_ADDR: vault.url }), { logger: silentLogger });
  try {
    assert.ok((resolved['axios'] ?? 0) > 0, 'node-vault required axios and got the stand-in');
    assert.ok((resolved['tv4'] ?? 0) > 0, 'node-vault required tv4 and got the stand-in');
    client.setToken(ROOT_TOKEN);
    const read = await client.request({ method: 'GET', path: 'secret/data/app/db' });
    assert.deepEqual((read?.data as { data?: unknown } | undefined)?.data, { password: 'pw' });
    await client.request({ method: 'POST', path: 'secret/data/app/new', body: { data: { a: '1' } } });
    await client.request({ method: 'PUT', path: 'secret/data/app/new', body: { data: { a: '2' } } });
    const self = await client.request({ method: 'GET', path: 'auth/token/lookup-self' });
    assert.equal((self?.data as { id?: string } | undefined)?.id, ROOT_TOKEN);
    const health = await client.request({ method: 'GET', path: 'sys/health', noToken: true });
    assert.equal(health?.['sealed'], false);
    await client.request({ method: 'DELETE', path: 'secret/metadata/app/new' });
    assert.deepEqual(sent, [
      'GET /v1/secret/data/app/db',
      'POST /v1/secret/data/app/new',
      'PUT /v1/secret/data/app/new',
      'GET /v1/auth/token/lookup-self',
      'GET /v1/sys/health',
      'DELETE /v1/secret/metadata/app/new',
    ]);
  } finally {
    HttpTransport.prototype.send = original;
    client.close();
  }
});
