import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { inspect } from 'node:util';
import { stringify } from 'yaml';
import { SecrunError } from '../../../src/base/errors.ts';
import { createLogger } from '../../../src/base/log.ts';
import type { VaultAuthSettings } from '../../../src/config/index.ts';
import { parseSeed } from '../../../src/dev/seed.ts';
import { startVaultServer, type VaultDevServer } from '../../../src/dev/vault/server.ts';
import type { DocumentRequest } from '../../../src/providers/provider.ts';
import { createVaultAuth } from '../../../src/providers/vault/auth/index.ts';
import {
  createVaultProvider,
  type VaultProvider,
  type VaultProviderOptions,
} from '../../../src/providers/vault/provider.ts';
import { makeJwtKey, nowSeconds, signJwt } from '../../helpers/jwt.ts';
import { makeTestPki, type TestPki } from '../../helpers/tls.ts';
import { haveOpenssl, type TempFiles, tempFiles } from '../../helpers/tls-certs.ts';
import { certAuthSeed, kubernetesAuthSeed } from '../../helpers/vault-auth-seed.ts';

// Every secret the provider or an auth method could ever hold: none may show in any error or log.
const C = {
  root: 'hvs.CANARY-HYG-ROOT-0123456789abcdef',
  reader: 'hvs.CANARY-HYG-READER-0123456789',
  roleId: 'CANARY-HYG-ROLE-ID-0123',
  secretId: 'CANARY-HYG-SECRET-ID-0123',
  wrongSecretId: 'CANARY-HYG-WRONG-SECRET-ID',
  wrapping: 'hvs.CANARY-HYG-WRAPPING-TOKEN',
  actionsToken: 'CANARY-HYG-ACTIONS-REQUEST-TOKEN',
  kvValue: 'CANARY-HYG-KV-VALUE',
};
const jwtKey = makeJwtKey('ES256');
const strangerKey = makeJwtKey('ES256');
const jwtFor = (key: typeof jwtKey, extra: Record<string, unknown> = {}) =>
  signJwt(
    {
      iss: 'https://issuer.example',
      sub: 'repo:acme/app',
      aud: 'vault',
      iat: nowSeconds(),
      exp: nowSeconds() + 300,
      jti: 'CANARY-HYG-JWT-ID',
      ...extra,
    },
    key,
  );
const badJwt = jwtFor(strangerKey);
const expiredJwt = jwtFor(jwtKey, { exp: nowSeconds() - 600, jti: 'CANARY-HYG-EXPIRED-JWT' });
const saJwt = signJwt(
  {
    iss: 'kubernetes/serviceaccount',
    'kubernetes.io/serviceaccount/namespace': 'default',
    'kubernetes.io/serviceaccount/service-account.name': 'app',
    jti: 'CANARY-HYG-SA-TOKEN',
  },
  strangerKey,
);
const CANARIES = [...Object.values(C), badJwt, expiredJwt, saJwt, 'CANARY-HYG-JWT-ID', 'CANARY-HYG-SA-TOKEN'];

const REQ = (path: string): DocumentRequest => ({ scheme: 'vault', path, options: {}, key: `vault:${path}` });

let pki: TestPki | undefined;
let tmp: TempFiles;
let server: VaultDevServer;
let tiny: http.Server;
let tinyUrl: string;
const providers: VaultProvider[] = [];
const logLines: string[] = [];
const logger = createLogger({ level: 'debug', write: (l) => logLines.push(l) });

before(async () => {
  tmp = tempFiles('secrun-hygiene-');
  if (haveOpenssl()) pki = makeTestPki();
  const seed = {
    vault: {
      root_token: C.root,
      mounts: { database: { type: 'database', roles: { app: { default_ttl: '1h', max_ttl: '2h' } } } },
      kv: { 'secret/app/db': { password: C.kvValue } },
      policies: { nothing: [{ path: 'secret/data/other', capabilities: ['read'] }] },
      tokens: [{ id: C.reader, policies: ['nothing'], ttl: '1h' }],
      auth: {
        approle: {
          type: 'approle',
          roles: { web: { role_id: C.roleId, secret_ids: [C.secretId], policies: ['default'] } },
        },
        jwt: {
          type: 'jwt',
          bound_issuer: 'https://issuer.example',
          jwt_validation_pubkeys: [jwtKey.publicPem],
          roles: {
            ci: { role_type: 'jwt', bound_audiences: ['vault'], user_claim: 'sub', policies: ['default'] },
          },
        },
        kubernetes: kubernetesAuthSeed(jwtKey.publicPem, { policies: ['default'] }),
        ...(pki
          ? {
              cert: certAuthSeed(pki.ca.cert, { policies: ['default'] }),
            }
          : {}),
      },
    },
  };
  server = await startVaultServer({
    seed: parseSeed(stringify(seed), 'hygiene-seed'),
    ...(pki
      ? {
          https: {
            cert: pki.server.cert,
            key: pki.server.key,
            clientCa: `${pki.ca.cert}${pki.otherCa.cert}`,
          },
        }
      : {}),
  });
  // Stand-in for odd servers: a GitHub Actions token endpoint that refuses, a proxy answering HTML,
  // and a server that never answers.
  tiny = http.createServer((req, res) => {
    if (req.url?.startsWith('/never')) return;
    if (req.url?.startsWith('/actions')) {
      res.statusCode = 403;
      res.end(`{"message":"denied ${C.actionsToken}"}`);
      return;
    }
    res.end('<html>proxy</html>');
  });
  await new Promise<void>((r) => tiny.listen(0, '127.0.0.1', r));
  tinyUrl = `http://127.0.0.1:${(tiny.address() as AddressInfo).port}`;
});

after(async () => {
  await Promise.all(providers.map((p) => p.close()));
  await server.close();
  tiny.closeAllConnections();
  await new Promise((r) => tiny.close(r));
  tmp.cleanup();
  pki?.cleanup();
});

/** The environment every provider sees: every canary that lives in variables. */
const baseEnv = (): Record<string, string | undefined> => ({
  VAULT_ADDR: server.url,
  VAULT_TOKEN: C.root,
  VAULT_MAX_RETRIES: '0',
  APP_SECRET_ID: C.secretId,
  WRONG_SECRET_ID: C.wrongSecretId,
  WRAPPED_SECRET_ID: C.wrapping,
  CI_JWT: badJwt,
  EXPIRED_JWT: expiredJwt,
  ACTIONS_ID_TOKEN_REQUEST_URL: `${tinyUrl}/actions?api-version=2.0`,
  ACTIONS_ID_TOKEN_REQUEST_TOKEN: C.actionsToken,
});

function makeProvider(
  env: Record<string, string | undefined> = {},
  auth?: VaultAuthSettings,
  extra: Partial<VaultProviderOptions> = {},
): VaultProvider {
  const fullEnv = { ...baseEnv(), ...env };
  const p = createVaultProvider({
    env: fullEnv,
    logger,
    homeDir: '/nonexistent-home',
    retry: { baseMs: 1, capMs: 5 },
    ...(auth
      ? {
          auth: createVaultAuth(auth, {
            env: fullEnv,
            homeDir: '/nonexistent-home',
            logger,
            readFile: async (path) => {
              if (path === '/run/sa-token') return saJwt;
              throw Object.assign(new Error(`ENOENT: no such file, open '${path}'`), { code: 'ENOENT' });
            },
          }),
        }
      : {}),
    ...extra,
  });
  providers.push(p);
  return p;
}

test('when every error the Vault provider and its auth methods can raise is inspected or serialised then no token, secret id, JWT or value appears', async () => {
  const errors: Array<{ label: string; err: unknown }> = [];
  /** Runs `fn`, which must fail: a throw, a rejection, or an error in the result map. */
  const expectFailure = async (label: string, fn: () => unknown): Promise<void> => {
    try {
      const r = await fn();
      if (r instanceof Map) {
        for (const v of r.values()) if (!v.ok) errors.push({ label, err: v.error });
        if ([...r.values()].every((v) => v.ok)) assert.fail(`${label}: expected a failure`);
        return;
      }
      assert.fail(`${label}: expected a failure`);
    } catch (err) {
      if (err instanceof assert.AssertionError) throw err;
      errors.push({ label, err });
    }
  };
  const read = (p: VaultProvider, path = 'secret/app/db', signal = AbortSignal.timeout(20_000)) =>
    p.readAll([REQ(path)], signal);

  // Transport.
  await expectFailure('connection refused', () => read(makeProvider({ VAULT_ADDR: 'http://127.0.0.1:1' })));
  await expectFailure('timeout', () =>
    read(makeProvider({ VAULT_ADDR: `${tinyUrl}/never`, VAULT_CLIENT_TIMEOUT: '100ms' })),
  );
  await expectFailure('deadline', () =>
    read(makeProvider({ VAULT_ADDR: `${tinyUrl}/never` }), 'secret/app/db', AbortSignal.timeout(100)),
  );
  await expectFailure('not JSON', () => read(makeProvider({ VAULT_ADDR: tinyUrl })));
  if (pki) {
    await expectFailure('tls untrusted', () => read(makeProvider({ VAULT_ADDR: server.httpsUrl })));
  }

  // HTTP statuses.
  await expectFailure('403', () => read(makeProvider({ VAULT_TOKEN: C.reader })));
  await expectFailure('404', () => read(makeProvider(), 'secret/app/missing'));
  server.faults.set({ failNext: { status: 400, count: 1 } });
  await expectFailure('400', () => read(makeProvider(), 'database/creds/app'));
  server.faults.set({ failNext: { status: 500, count: 1 } });
  await expectFailure('500', () => read(makeProvider(), 'database/creds/app'));
  server.faults.set({ failNext: { status: 429, count: 1 } });
  await expectFailure('429', () => read(makeProvider(), 'database/creds/app'));
  server.setSealed(true);
  await expectFailure('sealed', () => read(makeProvider()));
  server.setSealed(false);
  server.setStandby(tinyUrl.replace('127.0.0.1', 'localhost'));
  await expectFailure('redirect refused', () => read(makeProvider()));
  server.setStandby(null);

  // Session operations.
  const session = makeProvider();
  await expectFailure('renew unknown lease', () => session.renewLease('database/creds/app/nope', 60));
  await expectFailure('renew-self of a root token', () => session.renewSelf(60));

  // Token auth.
  await expectFailure('no token', () => read(makeProvider({ VAULT_TOKEN: undefined })));
  await expectFailure('token file missing', () =>
    read(makeProvider({ VAULT_TOKEN: undefined }, { method: 'token', tokenFile: '/run/missing-token' })),
  );

  // AppRole.
  await expectFailure('approle wrong secret id', () =>
    read(makeProvider({}, { method: 'approle', roleId: C.roleId, secretIdEnv: 'WRONG_SECRET_ID' })),
  );
  await expectFailure('approle secret id variable unset', () =>
    read(makeProvider({}, { method: 'approle', roleId: C.roleId, secretIdEnv: 'UNSET_SECRET_ID' })),
  );
  await expectFailure('approle missing secret id', () =>
    read(makeProvider({}, { method: 'approle', roleId: C.roleId })),
  );
  await expectFailure('approle not mounted', () =>
    read(
      makeProvider(
        {},
        { method: 'approle', mount: 'nowhere', roleId: C.roleId, secretIdEnv: 'APP_SECRET_ID' },
      ),
    ),
  );
  await expectFailure('approle unreachable', () =>
    read(
      makeProvider(
        { VAULT_ADDR: 'http://127.0.0.1:1' },
        { method: 'approle', roleId: C.roleId, secretIdEnv: 'APP_SECRET_ID' },
      ),
    ),
  );

  // Response wrapping.
  const wrappedAuth: VaultAuthSettings = {
    method: 'approle',
    roleId: C.roleId,
    role: 'web',
    wrapped: true,
    secretIdEnv: 'WRAPPED_SECRET_ID',
  };
  await expectFailure('wrapping token invalid', () => read(makeProvider({}, wrappedAuth)));
  await expectFailure('wrapping token missing', () =>
    read(makeProvider({ WRAPPED_SECRET_ID: '' }, wrappedAuth)),
  );
  const wrapRes = await fetch(`${server.url}/v1/auth/approle/role/web/secret-id`, {
    method: 'POST',
    headers: { 'x-vault-token': C.root, 'x-vault-wrap-ttl': '60s', 'content-type': 'application/json' },
    body: '{}',
  });
  const wrapBody = (await wrapRes.json()) as { wrap_info: { token: string } };
  CANARIES.push(wrapBody.wrap_info.token);
  await expectFailure('wrapping path mismatch', () =>
    read(makeProvider({ WRAPPED_SECRET_ID: wrapBody.wrap_info.token }, { ...wrappedAuth, role: 'other' })),
  );

  // JWT, GitHub Actions OIDC, Kubernetes.
  await expectFailure('jwt bad signature', () =>
    read(makeProvider({}, { method: 'jwt', role: 'ci', jwtEnv: 'CI_JWT' })),
  );
  await expectFailure('jwt expired', () =>
    read(makeProvider({}, { method: 'jwt', role: 'ci', jwtEnv: 'EXPIRED_JWT' })),
  );
  await expectFailure('jwt unknown role', () =>
    read(makeProvider({}, { method: 'jwt', role: 'nope', jwtEnv: 'CI_JWT' })),
  );
  await expectFailure('github oidc refused', () =>
    read(makeProvider({}, { method: 'jwt', role: 'ci', audience: 'vault' })),
  );
  await expectFailure('kubernetes bad token', () =>
    read(makeProvider({}, { method: 'kubernetes', role: 'app', tokenFile: '/run/sa-token' })),
  );
  await expectFailure('kubernetes token file missing', () =>
    read(makeProvider({}, { method: 'kubernetes', role: 'app', tokenFile: '/run/none' })),
  );

  // Certificate auth.
  await expectFailure('cert auth without a certificate', () => read(makeProvider({}, { method: 'cert' })));
  if (pki) {
    const ca = tmp.write('ca.pem', pki.ca.cert);
    const cert = tmp.write('untrusted.pem', pki.untrustedClient.cert);
    const key = tmp.write('untrusted.key', pki.untrustedClient.key);
    await expectFailure('cert auth untrusted certificate', () =>
      read(
        makeProvider(
          { VAULT_ADDR: server.httpsUrl, VAULT_CACERT: ca, VAULT_CLIENT_CERT: cert, VAULT_CLIENT_KEY: key },
          { method: 'cert', name: 'web' },
        ),
      ),
    );
    CANARIES.push(pki.untrustedClient.key.split('\n')[1] ?? 'unreachable');
  }

  // Configuration, before any request.
  await expectFailure('client cert without key', () => makeProvider({ VAULT_CLIENT_CERT: '/run/c.pem' }));
  await expectFailure('junk VAULT_SKIP_VERIFY', () => makeProvider({ VAULT_SKIP_VERIFY: 'maybe' }));
  await expectFailure('insecure http', () => makeProvider({ VAULT_ADDR: 'http://vault.example:8200' }));
  await expectFailure('bad address', () =>
    makeProvider({ VAULT_ADDR: `https://user:${C.root}@vault.example` }),
  );
  await expectFailure('missing CA file', () => makeProvider({ VAULT_CACERT: '/run/no-ca.pem' }));
  await expectFailure('auth settings', () =>
    makeProvider({}, { method: 'approle', roleId: C.roleId, secretIdEnv: 'A', secretIdFile: '/b' }),
  );
  await expectFailure('bad path', () => read(makeProvider(), 'secret/../sys/raw'));

  // Every error is ours, typed, and free of every canary in every rendering.
  const codes = new Set<string>();
  for (const { label, err } of errors) {
    assert.ok(err instanceof SecrunError, `${label}: not a SecrunError: ${inspect(err)}`);
    codes.add(err.code);
    assert.equal(err.cause, undefined, `${label}: carries a cause`);
    const views = [
      inspect(err, { showHidden: true, depth: 20 }),
      JSON.stringify(err),
      String(err),
      err.stack ?? '',
      JSON.stringify(err.details),
    ];
    for (const view of views) {
      for (const c of CANARIES)
        assert.ok(
          !view.includes(c),
          `${label} (${err.code}) leaks ${c.slice(0, 24)}…: ${view.slice(0, 600)}`,
        );
    }
  }
  const expected = [
    'vault.unavailable',
    'vault.timeout',
    'provider.deadline',
    'vault.badResponse',
    'vault.permission',
    'vault.notFound',
    'vault.badRequest',
    'vault.sealed',
    'vault.redirect',
    'vault.noToken',
    'vault.auth.credential',
    'vault.login',
    'vault.wrapping.invalid',
    'vault.wrapping.missing',
    'vault.wrapping.pathMismatch',
    'vault.oidc',
    'vault.auth.config',
    'vault.clientCert',
    'vault.badEnv',
    'vault.insecureHttp',
    'vault.badAddress',
    'vault.tlsFile',
    'vault.badPath',
    ...(pki ? ['vault.tls'] : []),
  ];
  for (const code of expected)
    assert.ok(codes.has(code), `no ${code} error was driven (got ${[...codes].join(', ')})`);
  assert.ok(errors.length >= 35, `only ${errors.length} errors`);

  // And nothing logged at debug level holds a canary either.
  assert.ok(logLines.length > 0);
  const log = logLines.join('');
  for (const c of CANARIES) assert.ok(!log.includes(c), `the log leaks ${c.slice(0, 24)}…`);
});
