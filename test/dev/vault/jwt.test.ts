import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import vault from 'node-vault';
import { stringify } from 'yaml';
import { parseSeed } from '../../../src/dev/seed.ts';
import { startVaultServer, type VaultDevServer } from '../../../src/dev/vault/server.ts';
import { rawRequest, vaultError } from '../../helpers/vault-target.ts';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const pem = (k: KeyObject) => k.export({ type: 'spki', format: 'pem' }).toString();

function jwt(claims: Record<string, unknown>, key: KeyObject, alg: 'RS256' | 'ES256'): string {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${enc({ alg, typ: 'JWT' })}.${enc(claims)}`;
  const sig =
    alg === 'RS256'
      ? sign('sha256', Buffer.from(input), key)
      : sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${sig.toString('base64url')}`;
}

const ISS = 'https://token.actions.githubusercontent.com';
const nowS = () => Math.floor(Date.now() / 1000);
const ghClaims = (extra: Record<string, unknown> = {}) => ({
  iss: ISS,
  sub: 'repo:acme/app:ref:refs/heads/main',
  aud: 'https://github.com/acme',
  repository: 'acme/app',
  exp: nowS() + 300,
  iat: nowS(),
  ...extra,
});
const saClaims = (ns: string, name: string) => ({
  iss: 'kubernetes/serviceaccount',
  sub: `system:serviceaccount:${ns}:${name}`,
  'kubernetes.io/serviceaccount/namespace': ns,
  'kubernetes.io/serviceaccount/service-account.name': name,
  'kubernetes.io/serviceaccount/service-account.uid': 'uid-1',
  'kubernetes.io/serviceaccount/secret.name': `${name}-token-x`,
});

describe('vault dev server: JWT and Kubernetes logins', () => {
  let s: VaultDevServer;
  before(async () => {
    const seed = {
      vault: {
        root_token: 'root',
        policies: { app: [{ path: 'secret/data/app/*', capabilities: ['read'] }] },
        auth: {
          'jwt-gha': {
            type: 'jwt',
            bound_issuer: ISS,
            jwt_validation_pubkeys: [pem(rsa.publicKey), pem(ec.publicKey)],
            roles: {
              ci: {
                role_type: 'jwt',
                bound_audiences: ['https://github.com/acme'],
                bound_claims: { repository: 'acme/app' },
                user_claim: 'sub',
                claim_mappings: { repository: 'repo' },
                policies: ['app'],
                token_ttl: '10m',
              },
              noaud: { role_type: 'jwt', user_claim: 'sub', policies: ['app'] },
              subj: {
                role_type: 'jwt',
                bound_audiences: ['https://github.com/acme'],
                bound_subject: 'someone-else',
              },
              web: { role_type: 'oidc', bound_audiences: ['x'] },
              exact: {
                role_type: 'jwt',
                bound_audiences: ['https://github.com/acme'],
                bound_claims: { repository: 'acme/*' },
              },
              globbed: {
                role_type: 'jwt',
                bound_audiences: ['https://github.com/acme'],
                bound_claims: { repository: 'acme/*' },
                bound_claims_type: 'glob',
              },
              user: { role_type: 'jwt', bound_audiences: ['https://github.com/acme'], user_claim: 'email' },
            },
          },
          kubernetes: {
            type: 'kubernetes',
            pem_keys: [pem(rsa.publicKey)],
            roles: {
              app: {
                bound_service_account_names: ['app'],
                bound_service_account_namespaces: ['default'],
                policies: ['app'],
                token_ttl: '1h',
              },
            },
          },
        },
      },
    };
    s = await startVaultServer({ seed: parseSeed(stringify(seed)) });
  });
  after(() => s.close());
  const client = () => vault({ endpoint: s.url, noCustomHTTPVerbs: true });
  const jwtLogin = (role: string, token: string) =>
    rawRequest(s.url, 'POST', '/v1/auth/jwt-gha/login', { body: { role, jwt: token } });

  test('when a GitHub-style RS256 or ES256 JWT matches the role then login returns role and mapped claims', async () => {
    for (const [key, alg] of [
      [rsa.privateKey, 'RS256'],
      [ec.privateKey, 'ES256'],
    ] as const) {
      const v = client();
      const res = await v.jwtLogin({ mount_point: 'jwt-gha', role: 'ci', jwt: jwt(ghClaims(), key, alg) });
      assert.deepEqual(res.auth.metadata, { role: 'ci', repo: 'acme/app' });
      assert.equal(res.auth.lease_duration, 600);
      assert.deepEqual(res.auth.policies, ['app', 'default']);
    }
  });

  test('when the role is unknown, oidc, or fields are missing then 400 with the exact texts', async () => {
    const token = jwt(ghClaims(), rsa.privateKey, 'RS256');
    assert.deepEqual((await jwtLogin('nope', token)).body.errors, ['role "nope" could not be found']);
    assert.deepEqual((await jwtLogin('web', token)).body.errors, ['role with oidc role_type is not allowed']);
    const noRole = await rawRequest(s.url, 'POST', '/v1/auth/jwt-gha/login', { body: { jwt: token } });
    assert.deepEqual(noRole.body.errors, ['missing role']);
    const noJwt = await rawRequest(s.url, 'POST', '/v1/auth/jwt-gha/login', { body: { role: 'ci' } });
    assert.deepEqual(noJwt.body.errors, ['missing token']);
    assert.equal(noJwt.status, 400);
  });

  test('when the signature, expiry, nbf or issuer is wrong then 400 error validating token', async () => {
    const cases = [
      jwt(ghClaims(), other.privateKey, 'ES256'),
      jwt(ghClaims({ exp: nowS() - 3600 }), rsa.privateKey, 'RS256'),
      jwt(ghClaims({ nbf: nowS() + 3600 }), rsa.privateKey, 'RS256'),
      jwt(ghClaims({ iss: 'https://evil' }), rsa.privateKey, 'RS256'),
    ];
    for (const token of cases) {
      const r = await jwtLogin('ci', token);
      assert.equal(r.status, 400);
      assert.match(r.body.errors[0], /^error validating token: /);
    }
  });

  test('when claims do not match the role then 400 with the claims or audience text', async () => {
    const badClaim = await jwtLogin('ci', jwt(ghClaims({ repository: 'evil/app' }), rsa.privateKey, 'RS256'));
    assert.match(badClaim.body.errors[0], /^error validating claims: claim "repository"/);
    const badAud = await jwtLogin('ci', jwt(ghClaims({ aud: 'other' }), rsa.privateKey, 'RS256'));
    assert.deepEqual(badAud.body.errors, [
      'error validating token: invalid audience (aud) claim: audience claim does not match any expected audience',
    ]);
    const unbound = await jwtLogin('noaud', jwt(ghClaims(), rsa.privateKey, 'RS256'));
    assert.deepEqual(unbound.body.errors, ['audience claim found in JWT but no audiences bound to the role']);
    const subj = await jwtLogin('subj', jwt(ghClaims(), rsa.privateKey, 'RS256'));
    assert.deepEqual(subj.body.errors, ['error validating token: invalid subject (sub) claim']);
  });

  // vault-plugin-auth-jwt claims.go validateBoundClaims / matchFound: globs only with bound_claims_type glob.
  test('when bound_claims has a * and the role does not say glob then it matches only literally', async () => {
    const evil = jwt(ghClaims({ repository: 'acme/evil' }), rsa.privateKey, 'RS256');
    const r = await jwtLogin('exact', evil);
    assert.equal(r.status, 400);
    assert.deepEqual(r.body.errors, [
      'error validating claims: claim "repository" does not match any associated bound claim values',
    ]);
    const literal = await jwtLogin('exact', jwt(ghClaims({ repository: 'acme/*' }), rsa.privateKey, 'RS256'));
    assert.equal(literal.status, 200);
    const globbed = await jwtLogin('globbed', evil);
    assert.equal(globbed.status, 200);
    const missing = await jwtLogin(
      'globbed',
      jwt(ghClaims({ repository: undefined }), rsa.privateKey, 'RS256'),
    );
    assert.deepEqual(missing.body.errors, ['error validating claims: claim "repository" is missing']);
  });

  // hashicorp/cap jwt/jwt.go validateAll: one of iat, nbf, exp is required; exp/nbf/iat texts.
  test('when a JWT has no iat, nbf or exp, or is expired, not yet valid or issued in the future then cap texts', async () => {
    const texts = async (extra: Record<string, unknown>) =>
      (await jwtLogin('ci', jwt(ghClaims(extra), rsa.privateKey, 'RS256'))).body.errors;
    assert.deepEqual(await texts({ iat: undefined, exp: undefined }), [
      'error validating token: no issued at (iat), not before (nbf), or expiration time (exp) claims in token',
    ]);
    assert.deepEqual(await texts({ exp: nowS() - 3600 }), [
      'error validating token: invalid expiration time (exp) claim: token is expired',
    ]);
    assert.deepEqual(await texts({ nbf: nowS() + 3600 }), [
      'error validating token: invalid not before (nbf) claim: token not yet valid',
    ]);
    assert.deepEqual(await texts({ iat: nowS() + 3600, nbf: nowS() - 10, exp: nowS() + 7200 }), [
      'error validating token: invalid issued at (iat) claim: token issued in the future',
    ]);
    assert.deepEqual(await texts({ iss: 'https://evil' }), [
      'error validating token: invalid issuer (iss) claim',
    ]);
    // Only iat: exp is iat + 150 s (expiration_leeway), then 60 s clock skew.
    assert.deepEqual(await texts({ exp: undefined, iat: nowS() - 300 }), [
      'error validating token: invalid expiration time (exp) claim: token is expired',
    ]);
    assert.equal(
      (await jwtLogin('ci', jwt(ghClaims({ exp: undefined }), rsa.privateKey, 'RS256'))).status,
      200,
    );
  });

  // vault-plugin-auth-jwt path_login.go createIdentity: the user claim is checked before bound claims, unprefixed.
  test('when the user claim is missing or not a string then the plugin texts', async () => {
    assert.deepEqual((await jwtLogin('user', jwt(ghClaims(), rsa.privateKey, 'RS256'))).body.errors, [
      'claim "email" not found in token',
    ]);
    assert.deepEqual(
      (await jwtLogin('user', jwt(ghClaims({ email: 5 }), rsa.privateKey, 'RS256'))).body.errors,
      ['claim "email" could not be converted to string'],
    );
  });

  test('when a bound service account logs in to kubernetes then metadata names it', async () => {
    const v = client();
    const res = await v.kubernetesLogin({
      mount_point: 'kubernetes',
      role: 'app',
      jwt: jwt(saClaims('default', 'app'), rsa.privateKey, 'RS256'),
    });
    assert.deepEqual(res.auth.metadata, {
      role: 'app',
      service_account_name: 'app',
      service_account_namespace: 'default',
      service_account_uid: 'uid-1',
      service_account_secret_name: 'app-token-x',
    });
    const projected = await client().kubernetesLogin({
      mount_point: 'kubernetes',
      role: 'app',
      jwt: jwt(
        {
          'kubernetes.io': { namespace: 'default', serviceaccount: { name: 'app', uid: 'u2' } },
          exp: nowS() + 60,
        },
        rsa.privateKey,
        'RS256',
      ),
    });
    assert.equal(projected.auth.metadata.service_account_uid, 'u2');
  });

  test('when the kubernetes login is wrong then the documented statuses and texts come back', async () => {
    const login = (role: string | undefined, token: string | undefined) =>
      rawRequest(s.url, 'POST', '/v1/auth/kubernetes/login', { body: { role, jwt: token } });
    const good = jwt(saClaims('default', 'app'), rsa.privateKey, 'RS256');
    const unknown = await login('nope', good);
    assert.equal(unknown.status, 400);
    assert.deepEqual(unknown.body.errors, ['invalid role name "nope"']);
    const name = await login('app', jwt(saClaims('default', 'other'), rsa.privateKey, 'RS256'));
    assert.equal(name.status, 403);
    assert.deepEqual(name.body.errors, ['service account name not authorized']);
    const ns = await login('app', jwt(saClaims('kube-system', 'app'), rsa.privateKey, 'RS256'));
    assert.equal(ns.status, 403);
    assert.deepEqual(ns.body.errors, ['namespace not authorized']);
    // path_login.go parseAndValidateJWT: the name is checked before the namespace.
    const both = await login('app', jwt(saClaims('kube-system', 'other'), rsa.privateKey, 'RS256'));
    assert.deepEqual(both.body.errors, ['service account name not authorized']);
    // A signature failure is logical.ErrPermissionDenied: a plain text, not the ACL's multierror.
    const badSig = await login('app', jwt(saClaims('default', 'app'), ec.privateKey, 'ES256'));
    assert.equal(badSig.status, 403);
    assert.deepEqual(badSig.body, { errors: ['permission denied'] });
    const expired = await login(
      'app',
      jwt({ ...saClaims('default', 'app'), exp: nowS() - 3600 }, rsa.privateKey, 'RS256'),
    );
    assert.equal(expired.status, 403);
    assert.deepEqual(expired.body.errors, ['invalid expiration time (exp) claim: token is expired']);
    assert.deepEqual((await login(undefined, good)).body.errors, ['missing role']);
    assert.deepEqual((await login('app', undefined)).body.errors, ['missing jwt']);
  });

  test('when a login path has an empty mount segment (node-vault #300) then 301 to the cleaned path', async () => {
    const r = await rawRequest(s.url, 'POST', '/v1/auth//login', { body: {} });
    assert.equal(r.status, 301);
    assert.equal(r.headers.get('location'), '/v1/auth/login');
  });

  test('when a JWT login token is used then the role policy applies', async () => {
    const v = client();
    await v.jwtLogin({ mount_point: 'jwt-gha', role: 'ci', jwt: jwt(ghClaims(), rsa.privateKey, 'RS256') });
    const e = await vaultError(v.read('secret/data/other'));
    assert.equal(e.statusCode, 403);
  });
});
