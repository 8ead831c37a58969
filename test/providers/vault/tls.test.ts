import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { ConfigError, type SecrunError } from '../../../src/base/errors.ts';
import { createLogger } from '../../../src/base/log.ts';
import { parseSeed } from '../../../src/dev/seed.ts';
import {
  startVaultServer,
  type VaultDevServer,
  type VaultDevServerOptions,
} from '../../../src/dev/vault/server.ts';
import type { DocumentRequest } from '../../../src/providers/provider.ts';
import { VaultClient } from '../../../src/providers/vault/client.ts';
import { readVaultSettings } from '../../../src/providers/vault/env-settings.ts';
import { createVaultProvider, type VaultProvider } from '../../../src/providers/vault/provider.ts';
import { readInInsecureChild } from '../../helpers/insecure-child.ts';
import type { TestPki } from '../../helpers/tls.ts';
import {
  type ExtraCerts,
  haveOpenssl,
  type TempFiles,
  type TlsMaterial,
  tlsMaterial,
} from '../../helpers/tls-certs.ts';
import { assertNoCanary } from '../../helpers/vault-auth.ts';

const ROOT = 'hvs.CANARY-ROOT-tls-0123456789';
const SECRET = 'CANARY-SECRET-over-tls';
const seedYaml = `
vault:
  root_token: ${ROOT}
  kv:
    secret/app/db: { password: ${SECRET} }
`;
const REQ: DocumentRequest = {
  scheme: 'vault',
  path: 'secret/app/db',
  options: {},
  key: 'vault:secret/app/db',
};

const skip = !haveOpenssl() && 'openssl not installed';

describe('vault TLS through the provider', { skip }, () => {
  let pki: TestPki;
  let extra: ExtraCerts;
  let tmp: TempFiles;
  let tls: TlsMaterial | undefined;
  let paths: Record<string, string> = {};
  const servers: Record<string, VaultDevServer> = {};
  const providers: VaultProvider[] = [];
  let lines: string[] = [];

  before(async () => {
    tls = tlsMaterial();
    ({ pki, extra, tmp, paths } = tls);
    paths.longCa = tmp.write('long-ca.pem', extra.longCa.cert);
    paths.clientCert = tmp.write('client.pem', pki.client.cert);
    paths.clientKey = tmp.write('client.key', pki.client.key, 0o600);
    paths.otherKey = tmp.write('other.key', pki.otherCnClient.key, 0o600);
    paths.openKey = tmp.write('open.key', pki.client.key, 0o640);
    paths.caDir = join(tmp.dir, 'cas');
    mkdirSync(paths.caDir);
    tmp.write('cas/10-other.pem', pki.otherCa.cert);
    tmp.write('cas/20-ours.crt', pki.ca.cert);
    tmp.write('cas/README.txt', 'not a certificate');
    paths.wrongDir = join(tmp.dir, 'wrong-cas');
    mkdirSync(paths.wrongDir);
    tmp.write('wrong-cas/other.pem', pki.otherCa.cert);
    const seed = parseSeed(seedYaml, 'tls-seed');
    const start = (o: Omit<VaultDevServerOptions, 'seed'>) => startVaultServer({ seed, ...o });
    servers.good = await start({ https: { cert: pki.server.cert, key: pki.server.key } });
    servers.named = await start({ https: { cert: extra.namedServer.cert, key: extra.namedServer.key } });
    servers.expired = await start({
      https: { cert: extra.expiredServer.cert, key: extra.expiredServer.key },
    });
    servers.self = await start({ https: { cert: extra.selfSigned.cert, key: extra.selfSigned.key } });
    servers.mtls = await start({
      https: { cert: pki.server.cert, key: pki.server.key, clientCa: pki.ca.cert, requireClientCert: true },
    });
  });

  after(async () => {
    await Promise.all(providers.map((p) => p.close()));
    await Promise.all(Object.values(servers).map((s) => s.close()));
    tls?.cleanup();
  });

  beforeEach(() => {
    lines = [];
    for (const s of Object.values(servers)) s.log.clear();
  });

  const provider = (server: VaultDevServer, env: Record<string, string | undefined>): VaultProvider => {
    const p = createVaultProvider({
      env: { VAULT_ADDR: server.httpsUrl, VAULT_TOKEN: ROOT, VAULT_MAX_RETRIES: '2', ...env },
      logger: createLogger({ level: 'debug', write: (l) => lines.push(l) }),
      homeDir: '/nonexistent-home',
      retry: { baseMs: 1, capMs: 5 },
    });
    providers.push(p);
    return p;
  };

  const read = async (p: VaultProvider) => {
    const out = (await p.readAll([REQ], AbortSignal.timeout(20_000))).get(REQ.key);
    assert.ok(out);
    return out;
  };

  const expectValue = async (p: VaultProvider) => {
    const out = await read(p);
    if (!out.ok) assert.fail(`expected the secret, got ${out.error.code}: ${out.error.message}`);
    assert.deepEqual(out.doc.value, { password: SECRET });
  };

  /** Reads, expects vault.tls, checks it was not retried and leaks nothing; returns the error. */
  const expectTls = async (p: VaultProvider, code: RegExp): Promise<SecrunError> => {
    const out = await read(p);
    assert.equal(out.ok, false, 'expected a TLS failure');
    if (out.ok) throw new Error('unreachable');
    assert.equal(out.error.code, 'vault.tls', out.error.message);
    assert.match(out.error.message, code);
    assert.equal(lines.filter((l) => l.includes('retrying')).length, 0, 'TLS failures are not retried');
    assertNoCanary(out.error, [ROOT, SECRET], 'the TLS error');
    return out.error;
  };

  test('when VAULT_CACERT names the CA that signed the server certificate then the secret is read', async () => {
    await expectValue(provider(servers.good!, { VAULT_CACERT: paths.ca }));
    assert.ok(servers.good!.log.entries.length >= 2);
  });

  test('when no CA is configured then the system roots do not trust the test CA (vault.tls, VAULT_CACERT hint)', async () => {
    const err = await expectTls(
      provider(servers.good!, {}),
      /UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER/,
    );
    assert.match(err.message, /VAULT_CACERT/);
    assert.equal(servers.good!.log.entries.length, 0, 'no request crossed an unverified connection');
  });

  test('when VAULT_CAPATH is a directory holding the CA among other files then every PEM in it is trusted', async () => {
    await expectValue(provider(servers.good!, { VAULT_CAPATH: paths.caDir }));
  });

  test('when VAULT_CAPATH holds only another CA then the server is not trusted', async () => {
    await expectTls(
      provider(servers.good!, { VAULT_CAPATH: paths.wrongDir }),
      /UNABLE_TO_VERIFY_LEAF_SIGNATURE/,
    );
  });

  test('when the certificate does not name the host then vault.tls names the code and points at VAULT_TLS_SERVER_NAME and VAULT_CACERT', async () => {
    const err = await expectTls(
      provider(servers.named!, { VAULT_CACERT: paths.ca }),
      /ERR_TLS_CERT_ALTNAME_INVALID/,
    );
    assert.match(err.message, /VAULT_TLS_SERVER_NAME/);
    assert.match(err.message, /VAULT_CACERT/);
    assert.equal(servers.named!.log.entries.length, 0);
  });

  test('when VAULT_TLS_SERVER_NAME is the name in the certificate then the mismatch is fixed', async () => {
    await expectValue(
      provider(servers.named!, { VAULT_CACERT: paths.ca, VAULT_TLS_SERVER_NAME: 'vault.internal' }),
    );
  });

  test('when VAULT_TLS_SERVER_NAME is a name the certificate does not hold then it fails', async () => {
    await expectTls(
      provider(servers.good!, { VAULT_CACERT: paths.ca, VAULT_TLS_SERVER_NAME: 'vault.internal' }),
      /ERR_TLS_CERT_ALTNAME_INVALID/,
    );
  });

  test('when the server certificate has expired then vault.tls says so', async () => {
    const err = await expectTls(provider(servers.expired!, { VAULT_CACERT: paths.ca }), /CERT_HAS_EXPIRED/);
    assert.match(err.message, /expired/);
    assert.equal(servers.expired!.log.entries.length, 0);
  });

  test('when Vault requires a client certificate and the pair is configured then mTLS succeeds', async () => {
    await expectValue(
      provider(servers.mtls!, {
        VAULT_CACERT: paths.ca,
        VAULT_CLIENT_CERT: paths.clientCert,
        VAULT_CLIENT_KEY: paths.clientKey,
      }),
    );
    assert.ok(servers.mtls!.log.entries.length >= 1);
  });

  test('when Vault requires a client certificate and none is configured then vault.tls says to set VAULT_CLIENT_CERT', async () => {
    const err = await expectTls(
      provider(servers.mtls!, { VAULT_CACERT: paths.ca }),
      /CERTIFICATE_REQUIRED|EPROTO/,
    );
    assert.match(err.message, /VAULT_CLIENT_CERT and VAULT_CLIENT_KEY/);
    assert.equal(servers.mtls!.log.entries.length, 0, 'Vault served nothing without the certificate');
  });

  test('when VAULT_CLIENT_CERT is set without VAULT_CLIENT_KEY then a ConfigError comes before any request', () => {
    assert.throws(
      () => provider(servers.mtls!, { VAULT_CACERT: paths.ca, VAULT_CLIENT_CERT: paths.clientCert }),
      (e: unknown) =>
        e instanceof ConfigError && e.code === 'vault.clientCert' && /VAULT_CLIENT_KEY/.test(e.message),
    );
    assert.throws(
      () => provider(servers.mtls!, { VAULT_CACERT: paths.ca, VAULT_CLIENT_KEY: paths.clientKey }),
      (e: unknown) => e instanceof ConfigError && e.code === 'vault.clientCert',
    );
    assert.equal(servers.mtls!.log.entries.length, 0);
  });

  test('when the client key does not belong to the certificate then a ConfigError names the files, not the key', () => {
    assert.throws(
      () =>
        provider(servers.mtls!, {
          VAULT_CACERT: paths.ca,
          VAULT_CLIENT_CERT: paths.clientCert,
          VAULT_CLIENT_KEY: paths.otherKey,
        }),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.equal(e.code, 'vault.tlsFile');
        assert.match(e.message, /does not belong to VAULT_CLIENT_CERT/);
        assertNoCanary(e, [pki.otherCnClient.key.split('\n')[1] ?? 'x'], 'the pair error');
        return true;
      },
    );
    assert.equal(servers.mtls!.log.entries.length, 0);
  });

  test('when the client key is readable by group or others then a warning says chmod 600, and not when it is 0600', async () => {
    const pair = { VAULT_CACERT: paths.ca, VAULT_CLIENT_CERT: paths.clientCert };
    await expectValue(provider(servers.mtls!, { ...pair, VAULT_CLIENT_KEY: paths.openKey }));
    const warnings = lines.filter((l) => l.startsWith('secrun: warn:'));
    assert.equal(warnings.length, 1, lines.join(''));
    assert.match(warnings[0] ?? '', /readable by other users; chmod 600/);
    assert.match(warnings[0] ?? '', /open\.key/);
    lines = [];
    await expectValue(provider(servers.mtls!, { ...pair, VAULT_CLIENT_KEY: paths.clientKey }));
    assert.deepEqual(
      lines.filter((l) => l.startsWith('secrun: warn:')),
      [],
    );
  });

  test('when VAULT_SKIP_VERIFY=true then a self-signed server works and a loud warning is logged', async () => {
    await expectValue(provider(servers.self!, { VAULT_SKIP_VERIFY: 'true' }));
    assert.ok(
      lines.some((l) => l.startsWith('secrun: warn:') && /TLS VERIFICATION IS OFF/.test(l)),
      lines.join(''),
    );
  });

  test('when VAULT_SKIP_VERIFY=false then the self-signed server is refused', async () => {
    await expectTls(provider(servers.self!, { VAULT_SKIP_VERIFY: 'false' }), /DEPTH_ZERO_SELF_SIGNED_CERT/);
    assert.ok(!lines.some((l) => /TLS VERIFICATION IS OFF/.test(l)));
  });

  test('when VAULT_SKIP_VERIFY is junk then a ConfigError names the variable and nothing is sent', () => {
    assert.throws(
      () => provider(servers.self!, { VAULT_SKIP_VERIFY: 'yes please' }),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.code === 'vault.badEnv' &&
        /VAULT_SKIP_VERIFY must be a boolean/.test(e.message),
    );
    assert.equal(servers.self!.log.entries.length, 0);
  });

  test('when the server offers only TLS 1.1 then it is refused (TLS 1.2 minimum)', async (t) => {
    let server: https.Server;
    try {
      server = https.createServer(
        {
          cert: pki.server.cert,
          key: pki.server.key,
          minVersion: 'TLSv1',
          maxVersion: 'TLSv1.1',
          ciphers: 'DEFAULT@SECLEVEL=0',
        },
        (_q, res) => res.end('{"data":{}}'),
      );
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    } catch {
      // This OpenSSL cannot serve TLS 1.1 at all: check the option the agent is given instead.
      const c = new VaultClient(readVaultSettings({ VAULT_ADDR: 'https://127.0.0.1:1' }), {
        logger: createLogger({ level: 'silent' }),
      });
      assert.equal(c.tlsOptions.minVersion, 'TLSv1.2');
      c.close();
      t.skip('TLS 1.1 server not available; asserted minVersion instead');
      return;
    }
    t.after(() => {
      server.closeAllConnections();
      return new Promise((r) => server.close(r));
    });
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // Control: a client that allows TLS 1.0 reaches this server, so the refusal below is the minimum.
    const control = await new Promise<number | string>((resolve) => {
      https
        .get(
          `${url}/v1/x`,
          { ca: pki.ca.cert, minVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        )
        .on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    });
    assert.equal(control, 200);
    const p = createVaultProvider({
      env: { VAULT_ADDR: url, VAULT_TOKEN: ROOT, VAULT_CACERT: paths.ca, VAULT_MAX_RETRIES: '2' },
      logger: createLogger({ level: 'debug', write: (l) => lines.push(l) }),
      homeDir: '/nonexistent-home',
      retry: { baseMs: 1, capMs: 5 },
    });
    providers.push(p);
    const err = await expectTls(p, /protocol version|UNSUPPORTED_PROTOCOL|EPROTO/);
    assert.match(err.message, /TLS 1\.2/);
  });

  test('when NODE_TLS_REJECT_UNAUTHORIZED=0 is in the environment then Vault certificates are still verified', async () => {
    const report = await readInInsecureChild({
      url: servers.self!.httpsUrl!,
      controlPath: '/v1/sys/health',
      module: 'providers/vault/provider.ts',
      factory: 'createVaultProvider',
      options: `{
        env: { VAULT_ADDR: url, VAULT_TOKEN: 'hvs.child', VAULT_MAX_RETRIES: '0', NODE_TLS_REJECT_UNAUTHORIZED: process.env.NODE_TLS_REJECT_UNAUTHORIZED },
        homeDir: '/nonexistent-home',
      }`,
      scheme: 'vault',
      path: 'secret/app/db',
    });
    assert.equal(report.control, 200, 'the variable is in effect for plain https in that process');
    assert.equal(report.ok, false);
    assert.equal(report.code, 'vault.tls', report.message);
    assert.match(report.message, /DEPTH_ZERO_SELF_SIGNED_CERT/);
    assert.ok(report.lines.some((l) => /NODE_TLS_REJECT_UNAUTHORIZED=0 is set; secrun ignores it/.test(l)));
    assert.equal(
      servers.self!.log.filter({ path: /^\/v1\/(secret|sys\/internal)/ }).length,
      0,
      'the provider sent nothing over the unverified connection',
    );
  });
});
