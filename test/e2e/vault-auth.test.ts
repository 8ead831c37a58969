import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { parseSeed } from '../../src/dev/seed.ts';
import { startVaultServer, type VaultDevServer } from '../../src/dev/vault/server.ts';
import { canary, childReport, FIXTURES, NODE, runSecrun } from '../helpers/cli.ts';
import { makeJwtKey, nowSeconds, signJwt } from '../helpers/jwt.ts';
import { makeTestPki, type TestPki } from '../helpers/tls.ts';
import { haveOpenssl, type TempFiles, tempFiles } from '../helpers/tls-certs.ts';
import { certAuthSeed, kubernetesAuthSeed } from '../helpers/vault-auth-seed.ts';

// End to end: the real CLI logs in with each auth method, hands the child the secret, and revokes
// the login token before exec unless a dynamic lease it read is still in use.

const C = {
  root: `hvs.${canary('root')}`,
  roleId: canary('role-id'),
  secretId: canary('secret-id'),
  password: canary('kv-password'),
  jti: canary('jwt-id'),
  saJti: canary('sa-id'),
};
const ciKey = makeJwtKey('ES256');
const k8sKey = makeJwtKey('RS256');
const ciJwt = () =>
  signJwt(
    {
      iss: 'https://token.actions.githubusercontent.com',
      sub: 'repo:acme/app:ref:refs/heads/main',
      aud: 'https://github.com/acme',
      repository: 'acme/app',
      iat: nowSeconds(),
      exp: nowSeconds() + 300,
      jti: C.jti,
    },
    ciKey,
  );
const saJwt = signJwt(
  {
    iss: 'kubernetes/serviceaccount',
    sub: 'system:serviceaccount:default:app',
    'kubernetes.io/serviceaccount/namespace': 'default',
    'kubernetes.io/serviceaccount/service-account.name': 'app',
    'kubernetes.io/serviceaccount/service-account.uid': 'uid-1',
    jti: C.saJti,
  },
  k8sKey,
);

const printEnv = [NODE, `${FIXTURES}print-env.mjs`];
let pki: TestPki | undefined;
let vault: VaultDevServer;
let tmp: TempFiles;

before(async () => {
  tmp = tempFiles('secrun-e2e-auth-');
  if (haveOpenssl()) pki = makeTestPki();
  const app = ['app'];
  const seed = {
    vault: {
      root_token: C.root,
      mounts: { database: { type: 'database', roles: { app: { default_ttl: '1h', max_ttl: '2h' } } } },
      kv: { 'secret/app/db': { username: 'app', password: C.password } },
      policies: {
        app: [
          { path: 'secret/data/app/*', capabilities: ['read'] },
          { path: 'database/creds/app', capabilities: ['read'] },
        ],
      },
      auth: {
        approle: {
          type: 'approle',
          roles: { web: { role_id: C.roleId, secret_ids: [C.secretId], policies: app } },
        },
        'ci/jwt': {
          type: 'jwt',
          bound_issuer: 'https://token.actions.githubusercontent.com',
          jwt_validation_pubkeys: [ciKey.publicPem],
          roles: {
            deploy: {
              role_type: 'jwt',
              bound_audiences: ['https://github.com/acme'],
              bound_claims: { repository: 'acme/app' },
              user_claim: 'sub',
              policies: app,
            },
          },
        },
        kubernetes: kubernetesAuthSeed(k8sKey.publicPem, { policies: app }),
        ...(pki
          ? {
              cert: certAuthSeed(pki.ca.cert, { policies: app }),
            }
          : {}),
      },
    },
  };
  vault = await startVaultServer({
    seed: parseSeed(stringify(seed), 'e2e-auth-seed'),
    ...(pki ? { https: { cert: pki.server.cert, key: pki.server.key, clientCa: pki.ca.cert } } : {}),
  });
});

after(async () => {
  await vault?.close();
  tmp?.cleanup();
  pki?.cleanup();
});

beforeEach(() => vault.log.clear());

const baseEnv = (): Record<string, string> => ({
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: '/nonexistent-home',
  VAULT_ADDR: vault.url,
});

let configs = 0;
/** Writes a config file with `auth` and the given variables and runs `secrun run` with it. */
async function run(
  auth: Record<string, unknown>,
  o: {
    env?: Record<string, string>;
    vars?: Record<string, string>;
    vault?: Record<string, unknown>;
    mode?: string;
  } = {},
) {
  const config = {
    vault: { auth, ...o.vault },
    env: o.vars ?? { DB_PASSWORD: 'vault:secret/app/db#password' },
    mode: o.mode ?? 'exec',
  };
  const file = tmp.write(`secrun-${++configs}.yaml`, stringify(config));
  const r = await runSecrun(
    ['run', '--config', file, '--', ...printEnv],
    { ...baseEnv(), ...o.env },
    { cwd: tmp.dir },
  );
  return r;
}

const trail = () => vault.log.entries.map((e) => `${e.method} ${e.path} ${e.status}`);

/** The child got the secret; the login happened first and the token was revoked last. */
function assertLoggedInAndRevoked(r: Awaited<ReturnType<typeof run>>, loginPath: string) {
  assert.equal(r.code, 0, r.stderr);
  const child = childReport(r.stdout).env;
  assert.equal(child.DB_PASSWORD, C.password);
  assert.equal(child.VAULT_TOKEN, undefined);
  const t = trail();
  assert.equal(t.filter((l) => l === `POST ${loginPath} 200`).length, 1, t.join('\n'));
  assert.ok(t.indexOf(`POST ${loginPath} 200`) < t.indexOf('GET /v1/secret/data/app/db 200'), t.join('\n'));
  assert.equal(t.at(-1), 'POST /v1/auth/token/revoke-self 204', t.join('\n'));
  for (const v of Object.values(C)) {
    assert.ok(!r.stderr.includes(v), `stderr leaks ${v}`);
  }
  return child;
}

describe('secrun run with vault.auth', () => {
  test('when AppRole reads the secret id from a variable then the child gets the secret but not that variable, and the token is revoked', async () => {
    const r = await run(
      { method: 'approle', role_id: C.roleId, secret_id_env: 'APP_SECRET_ID' },
      { env: { APP_SECRET_ID: C.secretId } },
    );
    const child = assertLoggedInAndRevoked(r, '/v1/auth/approle/login');
    assert.equal(child.APP_SECRET_ID, undefined, 'the secret-id variable is stripped from the child env');
    assert.ok(!JSON.stringify(child).includes(C.secretId));
  });

  test('when the auth method is given as flags and SECRUN_ variables then it is used like the config file', async () => {
    const r = await runSecrun(
      [
        'run',
        '--vault-auth-method',
        'approle',
        '--vault-auth-secret-id-env',
        'APP_SECRET_ID',
        '--env',
        'DB_PASSWORD=vault:secret/app/db#password',
        '--',
        ...printEnv,
      ],
      { ...baseEnv(), SECRUN_VAULT_AUTH_ROLE_ID: C.roleId, APP_SECRET_ID: C.secretId },
      { cwd: tmp.dir },
    );
    const child = assertLoggedInAndRevoked(r, '/v1/auth/approle/login');
    assert.equal(child.APP_SECRET_ID, undefined);
  });

  test('when AppRole gets a response-wrapped secret id then it is looked up, unwrapped once and used', async () => {
    const res = await fetch(`${vault.url}/v1/auth/approle/role/web/secret-id`, {
      method: 'POST',
      headers: { 'x-vault-token': C.root, 'x-vault-wrap-ttl': '120s', 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(res.status, 200);
    const wrapping = ((await res.json()) as { wrap_info: { token: string } }).wrap_info.token;
    const file = tmp.write('wrapped-secret-id', `${wrapping}\n`);
    vault.log.clear();
    const r = await run({
      method: 'approle',
      role_id: C.roleId,
      wrapped: true,
      role: 'web',
      secret_id_file: file,
    });
    assertLoggedInAndRevoked(r, '/v1/auth/approle/login');
    const t = trail();
    assert.deepEqual(t.slice(0, 3), [
      'POST /v1/sys/wrapping/lookup 200',
      'POST /v1/sys/wrapping/unwrap 200',
      'POST /v1/auth/approle/login 200',
    ]);
    assert.ok(!r.stderr.includes(wrapping));

    // The same wrapping token a second time: an alert, nothing read, the command not started.
    vault.log.clear();
    const again = await run({
      method: 'approle',
      role_id: C.roleId,
      wrapped: true,
      role: 'web',
      secret_id_file: file,
    });
    assert.equal(again.code, 77, again.stderr);
    assert.match(again.stderr, /wrapping token .* already used.*alert/);
    assert.equal(again.stdout, '');
    assert.deepEqual(trail(), ['POST /v1/sys/wrapping/lookup 400']);
  });

  test('when Kubernetes auth reads the service-account token file then the child gets the secret', async () => {
    const file = tmp.write('sa-token', saJwt);
    const r = await run({ method: 'kubernetes', role: 'app', token_file: file });
    assertLoggedInAndRevoked(r, '/v1/auth/kubernetes/login');
  });

  test('when JWT auth reads the token from jwt_file at a custom mount then the child gets the secret', async () => {
    const file = tmp.write('ci.jwt', ciJwt());
    const r = await run({ method: 'jwt', mount: 'ci/jwt', role: 'deploy', jwt_file: file });
    assertLoggedInAndRevoked(r, '/v1/auth/ci/jwt/login');
  });

  test('when cert auth presents the client certificate over HTTPS then the child gets the secret', {
    skip: !pki && 'openssl not installed',
  }, async () => {
    const p = pki as TestPki;
    const r = await run(
      { method: 'cert', name: 'web' },
      {
        env: { VAULT_ADDR: vault.httpsUrl ?? '' },
        vault: {
          tls: {
            ca: tmp.write('ca.pem', p.ca.cert),
            cert: tmp.write('client.pem', p.client.cert),
            key: tmp.write('client.key', p.client.key),
          },
        },
      },
    );
    assertLoggedInAndRevoked(r, '/v1/auth/cert/login');
  });

  test('when a dynamic lease is read in exec mode then the login token is kept (revoking it would revoke the lease)', async () => {
    const r = await run(
      { method: 'approle', role_id: C.roleId, secret_id_env: 'APP_SECRET_ID' },
      {
        env: { APP_SECRET_ID: C.secretId },
        vars: { DB_PASSWORD: 'vault:secret/app/db#password', DB_USER: 'vault:database/creds/app#username' },
      },
    );
    assert.equal(r.code, 0, r.stderr);
    const child = childReport(r.stdout).env;
    assert.equal(child.DB_PASSWORD, C.password);
    assert.match(child.DB_USER ?? '', /\S{6,}/);
    const t = trail();
    assert.ok(t.includes('GET /v1/database/creds/app 200'), t.join('\n'));
    assert.ok(!t.some((l) => l.includes('revoke-self')), t.join('\n'));
    assert.ok(!t.some((l) => l.includes('sys/leases/revoke')), t.join('\n'));
    assert.match(r.stderr, /lease of database\/creds\/app is not renewed/);
  });

  test('when the login fails then the command is not started and the error names the method, not the credential', async () => {
    const r = await run(
      { method: 'approle', role_id: C.roleId, secret_id_env: 'APP_SECRET_ID' },
      { env: { APP_SECRET_ID: 'wrong-secret-id-value' } },
    );
    assert.equal(r.code, 77, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /approle login at auth\/approle\/login failed \(400\): invalid role or secret ID/);
    assert.ok(!r.stderr.includes('wrong-secret-id-value'));
    assert.ok(!r.stderr.includes(C.roleId));
  });
});
