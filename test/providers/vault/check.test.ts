import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { createLogger } from '../../../src/base/log.ts';
import { parseSeed } from '../../../src/dev/seed.ts';
import { startVaultServer, type VaultDevServer } from '../../../src/dev/vault/server.ts';
import type { Provider } from '../../../src/providers/provider.ts';
import { createVaultAuth } from '../../../src/providers/vault/auth/index.ts';
import { certificateFacts } from '../../../src/providers/vault/cert-facts.ts';
import {
  CERT_WARN_DAYS,
  createVaultProvider,
  formatVaultCheck,
  type VaultProvider,
  type VaultProviderOptions,
  vaultCheckInfo,
} from '../../../src/providers/vault/provider.ts';
import type { TestPki } from '../../helpers/tls.ts';
import {
  type ExtraCerts,
  haveOpenssl,
  type TempFiles,
  type TlsMaterial,
  tlsMaterial,
} from '../../helpers/tls-certs.ts';
import { assertNoCanary } from '../../helpers/vault-auth.ts';

const ROOT = 'hvs.CANARY-CHECK-ROOT-000111';
const ROLE_ID = 'CANARY-CHECK-ROLE-ID';
const SECRET_ID = 'CANARY-CHECK-SECRET-ID';
const seedYaml = stringify({
  vault: {
    root_token: ROOT,
    kv: { 'secret/app/db': { password: 'x' } },
    auth: {
      'apps/approle': {
        type: 'approle',
        roles: { web: { role_id: ROLE_ID, secret_ids: [SECRET_ID], policies: ['app'], token_ttl: '20m' } },
      },
    },
  },
});

let server: VaultDevServer;
const providers: VaultProvider[] = [];
let lines: string[] = [];
before(async () => {
  server = await startVaultServer({ seed: parseSeed(seedYaml) });
});
after(async () => {
  await Promise.all(providers.map((p) => p.close()));
  await server.close();
});
beforeEach(() => {
  lines = [];
  server.log.clear();
});

function provider(env: Record<string, string | undefined>, extra: Partial<VaultProviderOptions> = {}) {
  const logger = createLogger({ level: 'debug', write: (l) => lines.push(l) });
  const p = createVaultProvider({
    env: { VAULT_ADDR: server.url, VAULT_TOKEN: ROOT, VAULT_MAX_RETRIES: '0', ...env },
    logger,
    homeDir: '/nonexistent-home',
    ...extra,
  });
  providers.push(p);
  return p;
}

describe('secrun check: the Vault token', () => {
  test('when the token comes from VAULT_TOKEN then check shows method token, its accessor and that root never expires', async () => {
    const info = await vaultCheckInfo(provider({}));
    assert.ok(info);
    assert.equal(info.auth.method, 'token');
    assert.equal(info.auth.owned, false);
    assert.match(info.auth.accessor ?? '', /\w{8,}/);
    assert.deepEqual(info.auth.policies, ['root']);
    assert.equal(info.auth.ttl, 0);
    assert.equal(info.auth.expireTime, null);
    assert.equal(info.auth.renewable, false);
    assert.deepEqual(info.certificates, []);
    assert.equal(info.tlsVerify, true);
    assert.deepEqual(
      server.log.entries.map((e) => e.path),
      ['/v1/auth/token/lookup-self'],
    );
    const text = formatVaultCheck(info);
    assert.match(text, /auth +token\n/);
    assert.match(text, /never expires/);
    assert.ok(text.includes(info.auth.accessor ?? '?'));
    assertNoCanary(info, [ROOT], 'check info');
    assertNoCanary(text, [ROOT], 'check text');
  });

  test('when AppRole logged in at a custom mount then check shows the method, mount, policies, TTL and renewability', async () => {
    const env = { VAULT_TOKEN: undefined, SID: SECRET_ID };
    const p = provider(env, {
      auth: createVaultAuth(
        { method: 'approle', mount: 'apps/approle', roleId: ROLE_ID, secretIdEnv: 'SID' },
        { env, homeDir: '/h', logger: createLogger({ level: 'silent' }) },
      ),
    });
    const info = await vaultCheckInfo(p, AbortSignal.timeout(10_000));
    assert.ok(info);
    assert.equal(info.auth.method, 'approle');
    assert.equal(info.auth.mount, 'apps/approle');
    assert.equal(info.auth.owned, true);
    assert.deepEqual([...info.auth.policies].sort(), ['app', 'default']);
    assert.ok(info.auth.ttl > 1100 && info.auth.ttl <= 1200, String(info.auth.ttl));
    assert.equal(info.auth.renewable, true);
    assert.match(info.auth.expireTime ?? '', /^\d{4}-\d\d-\d\dT/);
    const text = formatVaultCheck(info);
    assert.match(text, /approle at auth\/apps\/approle\/ \(login token\)/);
    assert.match(text, /policies +app, default|policies +default, app/);
    assert.match(text, /, renewable/);
    assertNoCanary({ info, text, lines }, [ROOT, ROLE_ID, SECRET_ID], 'check output');
  });

  test('when lookup-self is denied then check falls back to what the login returned', async (t) => {
    const seen: string[] = [];
    const tiny = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      res.setHeader('content-type', 'application/json');
      if (req.url === '/v1/auth/approle/login') {
        res.end(
          JSON.stringify({
            auth: {
              client_token: 'hvs.CANARY-TINY-LOGIN',
              accessor: 'acc-from-login',
              policies: ['app'],
              lease_duration: 600,
              renewable: true,
            },
          }),
        );
        return;
      }
      res.statusCode = req.url === '/v1/auth/token/lookup-self' ? 403 : 204;
      res.end(res.statusCode === 403 ? '{"errors":["permission denied"]}' : '');
    });
    await new Promise<void>((r) => tiny.listen(0, '127.0.0.1', r));
    t.after(() => {
      tiny.closeAllConnections();
      return new Promise((r) => tiny.close(r));
    });
    const env = { VAULT_ADDR: `http://127.0.0.1:${(tiny.address() as AddressInfo).port}`, SID: SECRET_ID };
    const p = provider(env, {
      auth: createVaultAuth(
        { method: 'approle', roleId: ROLE_ID, secretIdEnv: 'SID' },
        { env, homeDir: '/h', logger: createLogger({ level: 'silent' }) },
      ),
    });
    const info = await vaultCheckInfo(p);
    assert.ok(info);
    assert.equal(info.auth.accessor, 'acc-from-login');
    assert.deepEqual(info.auth.policies, ['app']);
    assert.equal(info.auth.ttl, 600);
    assert.equal(info.auth.renewable, true);
    assert.deepEqual(seen, ['POST /v1/auth/approle/login', 'GET /v1/auth/token/lookup-self']);
  });

  test('when the provider is not the Vault provider then vaultCheckInfo returns undefined', async () => {
    const aws = { scheme: 'awssm', readAll: async () => new Map(), close: async () => {} } as Provider;
    assert.equal(await vaultCheckInfo(aws), undefined);
  });
});

describe('secrun check: certificates', { skip: !haveOpenssl() && 'openssl not installed' }, () => {
  let pki: TestPki;
  let extra: ExtraCerts;
  let tmp: TempFiles;
  let short: VaultDevServer;
  let long: VaultDevServer;
  let tls: TlsMaterial | undefined;
  before(async () => {
    tls = tlsMaterial();
    ({ pki, extra, tmp } = tls);
    short = await startVaultServer({
      seed: parseSeed(seedYaml),
      https: { cert: pki.server.cert, key: pki.server.key, clientCa: pki.ca.cert, requireClientCert: true },
    });
    long = await startVaultServer({
      seed: parseSeed(seedYaml),
      https: { cert: extra.longServer.cert, key: extra.longServer.key },
    });
  });
  after(async () => {
    await short?.close();
    await long?.close();
    tls?.cleanup();
  });

  test('when the CA and client certificates expire within 30 days then check lists both and warns', async () => {
    const env = {
      VAULT_ADDR: short.httpsUrl,
      VAULT_CACERT: tmp.write('ca.pem', pki.ca.cert),
      VAULT_CLIENT_CERT: tmp.write('client.pem', pki.client.cert),
      VAULT_CLIENT_KEY: tmp.write('client.key', pki.client.key),
    };
    const info = await vaultCheckInfo(provider(env));
    assert.ok(info);
    assert.deepEqual(
      info.certificates.map((c) => [c.role, c.file, c.subject]),
      [
        ['ca', env.VAULT_CACERT, 'CN=secrun test CA'],
        ['client', env.VAULT_CLIENT_CERT, 'CN=web.example.internal'],
      ],
    );
    for (const c of info.certificates) {
      assert.ok(c.daysLeft >= 0 && c.daysLeft < CERT_WARN_DAYS, String(c.daysLeft));
      assert.ok(Date.parse(c.notAfter) > Date.now());
    }
    const warnings = lines.filter((l) => l.startsWith('secrun: warn:'));
    assert.equal(warnings.length, 2, lines.join(''));
    assert.match(warnings[0] ?? '', /the Vault ca certificate in .*ca\.pem expires in \d days/);
    assert.match(warnings[1] ?? '', /the Vault client certificate in .*client\.pem expires in \d days/);
    assert.match(
      formatVaultCheck(info),
      /client cert .*client\.pem: CN=web\.example\.internal, until .*WARNING/,
    );
  });

  test('when the CA is valid for a long time then check lists it without a warning', async () => {
    const env = { VAULT_ADDR: long.httpsUrl, VAULT_CACERT: tmp.write('long-ca.pem', extra.longCa.cert) };
    const info = await vaultCheckInfo(provider(env));
    assert.ok(info);
    assert.equal(info.certificates.length, 1);
    assert.ok((info.certificates[0]?.daysLeft ?? 0) >= 398);
    assert.deepEqual(
      lines.filter((l) => l.startsWith('secrun: warn:')),
      [],
    );
  });

  test('when VAULT_CACERT is a bundle then every certificate in it is reported and an expired one has negative days left', () => {
    const now = new Date();
    const facts = certificateFacts(
      [
        { role: 'ca', file: '/bundle.pem', pem: Buffer.from(`${pki.ca.cert}\n${extra.longCa.cert}`) },
        { role: 'client', file: '/old.pem', pem: Buffer.from(pki.expiredClient.cert) },
        { role: 'ca', file: '/junk.pem', pem: Buffer.from('not a certificate') },
      ],
      now,
    );
    assert.deepEqual(
      facts.map((f) => [f.file, f.subject]),
      [
        ['/bundle.pem', 'CN=secrun test CA'],
        ['/bundle.pem', 'CN=secrun long CA'],
        ['/old.pem', 'CN=web.example.internal'],
      ],
    );
    assert.ok((facts[2]?.daysLeft ?? 0) < -9000);
    assert.equal(facts[2]?.notAfter, '2001-01-01T00:00:00.000Z');
  });
});
