import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { ConfigError, PermissionError, type SecrunError } from '../../../../src/base/errors.ts';
import type { VaultAuthSettings } from '../../../../src/config/index.ts';
import type { VaultDevServer } from '../../../../src/dev/vault/server.ts';
import { createVaultAuth } from '../../../../src/providers/vault/auth/index.ts';
import type { KeyPair, TestPki } from '../../../helpers/tls.ts';
import {
  assertNoCanary,
  authContext,
  captureLogger,
  devClient,
  memTlsFiles,
} from '../../../helpers/vault-auth.ts';
import { type MtlsVault, startMtlsVault } from '../../../helpers/vault-auth-seed.ts';

describe('vault auth: TLS certificate', () => {
  let pki: TestPki;
  let s: VaultDevServer;
  let started: MtlsVault | undefined;
  before(async () => {
    const role = (ca: KeyPair, cn: string) => ({
      certificate: ca.cert,
      allowed_common_names: [cn],
      policies: ['default'],
      token_ttl: '15m',
    });
    started = await startMtlsVault(({ ca }) => ({
      vault: {
        auth: {
          cert: {
            type: 'cert',
            roles: { web: role(ca, 'web.example.internal'), db: role(ca, 'db.example.internal') },
          },
          'tls-certs': { type: 'cert', roles: { web: role(ca, 'web.example.internal') } },
        },
      },
    }));
    ({ pki, server: s } = started);
  });
  after(() => started?.close());
  beforeEach(() => {
    s.log.clear();
  });

  const trail = () => s.log.entries.map((e) => `${e.method} ${e.path} ${e.status}`);

  const run = async (
    settings: Omit<VaultAuthSettings, 'method'>,
    client: KeyPair | undefined,
    addr?: string,
  ) => {
    const { logger, lines } = captureLogger();
    const env: Record<string, string> = { VAULT_ADDR: addr ?? s.httpsUrl ?? '', VAULT_CACERT: '/tls/ca.pem' };
    const files: Record<string, string> = { '/tls/ca.pem': pki.ca.cert };
    if (client) {
      Object.assign(env, { VAULT_CLIENT_CERT: '/tls/client.pem', VAULT_CLIENT_KEY: '/tls/client.key' });
      Object.assign(files, { '/tls/client.pem': client.cert, '/tls/client.key': client.key });
    }
    const auth = createVaultAuth({ method: 'cert', ...settings }, { env, homeDir: '/h', logger });
    const vc = devClient(env, logger, {}, memTlsFiles(files));
    try {
      return { result: await auth(authContext(vc, logger, env)), lines };
    } catch (err) {
      return { error: err as SecrunError, lines };
    } finally {
      vc.close();
    }
  };

  test('when the client certificate matches the named role then it logs in and the token is owned', async () => {
    const { result, lines } = await run({ name: 'web' }, pki.client);
    assert.equal(result?.method, 'cert');
    assert.equal(result?.owned, true);
    assert.equal(result?.mount, 'cert');
    assert.equal(result?.leaseDuration, 900);
    assert.ok(result?.accessor);
    assert.deepEqual(trail(), ['POST /v1/auth/cert/login 200']);
    assertNoCanary(lines, [result?.token ?? 'x', pki.client.key], 'log');
  });

  test('when no name is given then Vault picks the matching role', async () => {
    const { result } = await run({}, pki.otherCnClient);
    assert.equal(result?.owned, true);
  });

  test('when the mount is custom then it posts to auth/<mount>/login', async () => {
    const { result } = await run({ mount: 'tls-certs', name: 'web' }, pki.client);
    assert.equal(result?.mount, 'tls-certs');
    assert.deepEqual(trail(), ['POST /v1/auth/tls-certs/login 200']);
  });

  test('when the named role does not allow the certificate CN then vault.login says no chain matches', async () => {
    const { error } = await run({ name: 'web' }, pki.otherCnClient);
    assert.ok(error instanceof PermissionError);
    assert.equal(error.code, 'vault.login');
    assert.match(
      error.message,
      /cert login at auth\/cert\/login failed \(400\): no chain matching all constraints/,
    );
  });

  test('when the certificate is from an untrusted CA then vault.login says invalid certificate', async () => {
    const { error } = await run({ name: 'web' }, pki.untrustedClient);
    assert.equal(error?.code, 'vault.login');
    assert.match(error?.message ?? '', /invalid certificate or no client certificate supplied/);
    assertNoCanary(error, [pki.untrustedClient.key], 'error');
  });

  test('when the certificate has expired then the login is refused', async () => {
    const { error } = await run({ name: 'web' }, pki.expiredClient);
    assert.equal(error?.code, 'vault.login');
    assert.match(error?.message ?? '', /invalid certificate/);
  });

  test('when no client certificate is configured then a ConfigError comes before any request', async () => {
    const { error } = await run({ name: 'web' }, undefined);
    assert.ok(error instanceof ConfigError);
    assert.match(error.message, /VAULT_CLIENT_CERT and VAULT_CLIENT_KEY/);
    assert.deepEqual(trail(), []);
  });

  test('when the address is plain http then a ConfigError says https is needed', async () => {
    const { error } = await run({ name: 'web' }, pki.client, s.url);
    assert.ok(error instanceof ConfigError);
    assert.match(error.message, /https:\/\//);
    assert.deepEqual(trail(), []);
  });
});
