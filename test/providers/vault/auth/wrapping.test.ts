import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { PermissionError, type SecrunError } from '../../../../src/base/errors.ts';
import type { VaultAuthSettings } from '../../../../src/config/index.ts';
import { parseSeed } from '../../../../src/dev/seed.ts';
import { startVaultServer, type VaultDevServer } from '../../../../src/dev/vault/server.ts';
import { createVaultAuth } from '../../../../src/providers/vault/auth/index.ts';
import {
  assertNoCanary,
  authContext,
  captureLogger,
  devClient,
  memReadFile,
} from '../../../helpers/vault-auth.ts';
import { rawRequest } from '../../../helpers/vault-target.ts';

const ROOT = 'hvs.CANARY-ROOT-wrapping';
const ROLE_ID = 'CANARY-ROLE-ID-wrapped';

const seedYaml = `
vault:
  root_token: ${ROOT}
  kv:
    secret/other: { x: "1" }
  auth:
    approle:
      type: approle
      roles:
        web: { role_id: ${ROLE_ID}, policies: [default], token_ttl: 10m }
        other: { role_id: other-role-id, policies: [default] }
`;

describe('vault auth: response-wrapped AppRole secret id', () => {
  let s: VaultDevServer;
  let clock = Date.now();
  before(async () => {
    s = await startVaultServer({ seed: parseSeed(seedYaml), now: () => clock });
  });
  after(async () => {
    await s?.close();
  });
  beforeEach(() => {
    s.log.clear();
  });

  /** What a provisioner does: a secret id for `role`, wrapped with `ttl`. */
  const wrapped = async (path: string, ttl = '120s'): Promise<string> => {
    const method = path.endsWith('secret-id') ? 'POST' : 'GET';
    const r = await rawRequest(s.url, method, `/v1/${path}`, {
      token: ROOT,
      headers: { 'x-vault-wrap-ttl': ttl },
      ...(method === 'POST' ? { body: {} } : {}),
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.wrap_info.creation_path, path);
    return r.body.wrap_info.token as string;
  };

  const login = async (wrappingToken: string, settings: Partial<VaultAuthSettings> = { role: 'web' }) => {
    const { logger, lines } = captureLogger();
    const env = { WRAPPED_SECRET_ID: wrappingToken };
    const auth = createVaultAuth(
      { method: 'approle', roleId: ROLE_ID, wrapped: true, secretIdEnv: 'WRAPPED_SECRET_ID', ...settings },
      { env, homeDir: '/h', logger, readFile: memReadFile({ '/run/wrapped': wrappingToken }) },
    );
    const client = devClient({ VAULT_ADDR: s.url }, logger);
    try {
      return {
        result: await auth(authContext(client, logger, env)),
        lines,
        canaries: [ROOT, ROLE_ID, wrappingToken],
      };
    } catch (err) {
      return { error: err as SecrunError, lines, canaries: [ROOT, ROLE_ID, wrappingToken] };
    } finally {
      client.close();
    }
  };

  const trail = () => s.log.entries.map((e) => `${e.method} ${e.path} ${e.status}`);

  test('when the creation path matches then it looks up, unwraps once and logs in', async () => {
    const token = await wrapped('auth/approle/role/web/secret-id');
    s.log.clear();
    const { result, lines, canaries } = await login(token);
    assert.equal(result?.owned, true);
    assert.equal(result?.method, 'approle');
    assert.deepEqual(trail(), [
      'POST /v1/sys/wrapping/lookup 200',
      'POST /v1/sys/wrapping/unwrap 200',
      'POST /v1/auth/approle/login 200',
    ]);
    assertNoCanary(lines, [...canaries, result?.token ?? 'x'], 'log');
  });

  test('when wrapped_path is configured then it must match exactly (file source)', async () => {
    const token = await wrapped('auth/approle/role/web/secret-id');
    const { result } = await login(token, {
      wrappedPath: '/auth/approle/role/web/secret-id',
      secretIdEnv: undefined,
      secretIdFile: '/run/wrapped',
    });
    assert.equal(result?.owned, true);
  });

  test('when the creation path differs then pathMismatch names both paths and the token is not unwrapped', async () => {
    const token = await wrapped('auth/approle/role/other/secret-id');
    s.log.clear();
    const { error, lines, canaries } = await login(token);
    assert.ok(error instanceof PermissionError);
    assert.equal(error.code, 'vault.wrapping.pathMismatch');
    assert.match(
      error.message,
      /created at "auth\/approle\/role\/other\/secret-id", not at the expected "auth\/approle\/role\/web\/secret-id"/,
    );
    assert.match(error.message, /interception/);
    assert.deepEqual(trail(), ['POST /v1/sys/wrapping/lookup 200']);
    const still = await rawRequest(s.url, 'POST', '/v1/sys/wrapping/lookup', { body: { token } });
    assert.equal(still.status, 200, 'the mismatched wrapping token must not be burnt');
    assertNoCanary(error, canaries, 'error');
    assertNoCanary(lines, canaries, 'log');
  });

  test('when a prefix of the expected path wrapped something else then it is a mismatch too', async () => {
    const token = await wrapped('secret/data/other');
    const { error } = await login(token, { wrappedPath: 'secret/data' });
    assert.equal(error?.code, 'vault.wrapping.pathMismatch');
  });

  test('when the wrapping token was already unwrapped then it is an alert and no login is tried', async () => {
    const token = await wrapped('auth/approle/role/web/secret-id');
    const stolen = await rawRequest(s.url, 'POST', '/v1/sys/wrapping/unwrap', { token, body: {} });
    assert.equal(stolen.status, 200);
    s.log.clear();
    const { error, lines, canaries } = await login(token);
    assert.ok(error instanceof PermissionError);
    assert.equal(error.code, 'vault.wrapping.invalid');
    assert.match(error.message, /already used, has expired/);
    assert.match(error.message, /interception/);
    assert.deepEqual(trail(), ['POST /v1/sys/wrapping/lookup 400']);
    assertNoCanary(error, canaries, 'error');
    assertNoCanary(lines, canaries, 'log');
  });

  test('when the same wrapping token is used for a second login then the second is refused', async () => {
    const token = await wrapped('auth/approle/role/web/secret-id');
    assert.ok((await login(token)).result);
    const { error } = await login(token);
    assert.equal(error?.code, 'vault.wrapping.invalid');
  });

  test('when the wrapping token has expired then it is an alert', async () => {
    const token = await wrapped('auth/approle/role/web/secret-id', '30s');
    clock += 31_000;
    const { error } = await login(token);
    assert.equal(error?.code, 'vault.wrapping.invalid');
    assert.match(error?.message ?? '', /expired/);
  });

  test('when the wrapping token source is empty then vault.wrapping.missing says to alert', async () => {
    const { error } = await login('   ');
    assert.ok(error instanceof PermissionError);
    assert.equal(error.code, 'vault.wrapping.missing');
    assert.match(error.message, /WRAPPED_SECRET_ID is empty/);
  });

  test('when Vault is sealed at lookup then the error is vault.sealed, not a wrapping alert', async () => {
    const token = await wrapped('auth/approle/role/web/secret-id');
    s.setSealed(true);
    try {
      const { error } = await login(token);
      assert.equal(error?.code, 'vault.sealed');
    } finally {
      s.setSealed(false);
    }
    assert.ok((await login(token)).result, 'the wrapping token is still usable after the outage');
  });

  test('when the same auth instance logs in again then it reuses the unwrapped secret id without unwrapping', async () => {
    const token = await wrapped('auth/approle/role/web/secret-id');
    const { logger } = captureLogger();
    const env = { WRAPPED_SECRET_ID: token };
    const auth = createVaultAuth(
      { method: 'approle', roleId: ROLE_ID, role: 'web', wrapped: true, secretIdEnv: 'WRAPPED_SECRET_ID' },
      { env, homeDir: '/h', logger },
    );
    const client = devClient({ VAULT_ADDR: s.url }, logger);
    try {
      const first = await auth(authContext(client, logger, env));
      s.log.clear();
      const second = await auth(authContext(client, logger, env));
      assert.notEqual(first.token, second.token);
      assert.deepEqual(trail(), ['POST /v1/auth/approle/login 200']);
    } finally {
      client.close();
    }
  });
});
