import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import { stringify } from 'yaml';
import {
  ConfigError,
  PermissionError,
  type SecrunError,
  UnavailableError,
} from '../../../../src/base/errors.ts';
import type { VaultAuthSettings } from '../../../../src/config/index.ts';
import { parseSeed } from '../../../../src/dev/seed.ts';
import { startVaultServer, type VaultDevServer } from '../../../../src/dev/vault/server.ts';
import { requestGithubOidcToken } from '../../../../src/providers/vault/auth/github-oidc.ts';
import { createVaultAuth, DEFAULT_K8S_TOKEN_FILE } from '../../../../src/providers/vault/auth/index.ts';
import { makeJwtKey, nowSeconds, signJwt } from '../../../helpers/jwt.ts';
import {
  assertNoCanary,
  authContext,
  captureLogger,
  devClient,
  memReadFile,
} from '../../../helpers/vault-auth.ts';
import { kubernetesAuthSeed } from '../../../helpers/vault-auth-seed.ts';

const ISS = 'https://token.actions.githubusercontent.com';
const AUD = 'https://github.com/acme';
const REQUEST_TOKEN = 'CANARY-ACTIONS-REQUEST-TOKEN-0001';
const ciKey = makeJwtKey('ES256');
const k8sKey = makeJwtKey('RS256');
const strangerKey = makeJwtKey('ES256');

const ciJwt = (extra: Record<string, unknown> = {}, key = ciKey) =>
  signJwt(
    {
      iss: ISS,
      sub: 'repo:acme/app:ref:refs/heads/main',
      aud: AUD,
      repository: 'acme/app',
      iat: nowSeconds(),
      exp: nowSeconds() + 300,
      jti: `CANARY-JWT-${Math.random().toString(36).slice(2)}`,
      ...extra,
    },
    key,
  );
const saJwt = (ns: string, name: string, key = k8sKey) =>
  signJwt(
    {
      iss: 'kubernetes/serviceaccount',
      sub: `system:serviceaccount:${ns}:${name}`,
      'kubernetes.io/serviceaccount/namespace': ns,
      'kubernetes.io/serviceaccount/service-account.name': name,
      'kubernetes.io/serviceaccount/service-account.uid': 'uid-1',
      jti: `CANARY-SA-${Math.random().toString(36).slice(2)}`,
    },
    key,
  );

const seed = {
  vault: {
    root_token: 'hvs.CANARY-ROOT-jwt',
    auth: {
      'ci/jwt': {
        type: 'jwt',
        bound_issuer: ISS,
        jwt_validation_pubkeys: [ciKey.publicPem],
        roles: {
          ci: {
            role_type: 'jwt',
            bound_audiences: [AUD],
            bound_claims: { repository: 'acme/app' },
            user_claim: 'sub',
            policies: ['default'],
            token_ttl: '10m',
          },
        },
      },
      kubernetes: kubernetesAuthSeed(k8sKey.publicPem, { policies: ['default'], token_ttl: '1h' }),
      'k8s-prod': {
        type: 'kubernetes',
        pem_keys: [k8sKey.publicPem],
        roles: {
          worker: {
            bound_service_account_names: ['worker'],
            bound_service_account_namespaces: ['prod'],
            policies: ['default'],
          },
        },
      },
    },
  },
};

let s: VaultDevServer;
before(async () => {
  s = await startVaultServer({ seed: parseSeed(stringify(seed)) });
});
after(async () => {
  await s?.close();
});
beforeEach(() => {
  s.log.clear();
});

const trail = () => s.log.entries.map((e) => `${e.method} ${e.path} ${e.status}`);

interface RunOptions {
  env?: Record<string, string>;
  files?: Record<string, string>;
  timeoutMs?: number;
  maxRetries?: number;
  signal?: AbortSignal;
}

async function run(settings: VaultAuthSettings, o: RunOptions = {}) {
  const { logger, lines } = captureLogger();
  const env = o.env ?? {};
  const auth = createVaultAuth(settings, {
    env,
    homeDir: '/h',
    logger,
    readFile: memReadFile(o.files ?? {}),
  });
  const client = devClient({ VAULT_ADDR: s.url }, logger, {
    ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}),
    maxRetries: o.maxRetries ?? 0,
  });
  try {
    return { result: await auth(authContext(client, logger, env, o.signal)), lines };
  } catch (err) {
    return { error: err as SecrunError, lines };
  } finally {
    client.close();
  }
}

describe('vault auth: jwt', () => {
  const settings: VaultAuthSettings = {
    method: 'jwt',
    mount: 'ci/jwt',
    role: 'ci',
    jwtEnv: 'VAULT_ID_TOKEN',
  };

  test('when the JWT is in a named variable (GitLab id_tokens) then it logs in at the custom mount', async () => {
    const jwt = ciJwt();
    const { result, lines } = await run(settings, { env: { VAULT_ID_TOKEN: jwt } });
    assert.equal(result?.method, 'jwt');
    assert.equal(result?.owned, true);
    assert.equal(result?.mount, 'ci/jwt');
    assert.equal(result?.leaseDuration, 600);
    assert.deepEqual(trail(), ['POST /v1/auth/ci/jwt/login 200']);
    assertNoCanary(lines, [jwt, result?.token ?? 'x'], 'log');
  });

  test('when the JWT is in a file then it is read and trimmed', async () => {
    const { result } = await run(
      { method: 'jwt', mount: 'ci/jwt', role: 'ci', jwtFile: '/run/jwt' },
      { files: { '/run/jwt': `${ciJwt()}\n` } },
    );
    assert.equal(result?.owned, true);
  });

  test('when the named variable is not set then the error names it with the GitLab hint', async () => {
    const { error } = await run(settings);
    assert.ok(error instanceof PermissionError);
    assert.equal(error.code, 'vault.auth.credential');
    assert.match(error.message, /VAULT_ID_TOKEN is not set; in GitLab CI declare it under id_tokens:/);
    assert.deepEqual(trail(), []);
  });

  for (const [name, jwt, message] of [
    [
      'the audience does not match',
      ciJwt({ aud: 'https://github.com/other' }),
      /invalid audience \(aud\) claim/,
    ],
    ['the token has expired', ciJwt({ exp: nowSeconds() - 3600 }), /error validating token: .*expired/],
    ['the signature is from another key', ciJwt({}, strangerKey), /error verifying token signature/],
    ['a bound claim does not match', ciJwt({ repository: 'evil/app' }), /claim "repository" does not match/],
  ] as const) {
    test(`when ${name} then vault.login carries Vault's reason and not the JWT`, async () => {
      const { error, lines } = await run(settings, { env: { VAULT_ID_TOKEN: jwt } });
      assert.ok(error instanceof PermissionError);
      assert.equal(error.code, 'vault.login');
      assert.equal(error.details.status, 400);
      assert.equal(error.details.mount, 'ci/jwt');
      assert.match(error.message, message);
      assertNoCanary(error, [jwt], 'error');
      assertNoCanary(lines, [jwt], 'log');
    });
  }

  test('when the role does not exist then the error carries Vault text', async () => {
    const { error } = await run({ ...settings, role: 'nope' }, { env: { VAULT_ID_TOKEN: ciJwt() } });
    assert.equal(error?.code, 'vault.login');
    assert.match(error?.message ?? '', /role "nope" could not be found/);
  });

  test('when there is no JWT source outside GitHub Actions then a ConfigError says what to set', async () => {
    const { error } = await run({ method: 'jwt', role: 'ci' });
    assert.ok(error instanceof ConfigError);
    assert.match(error.message, /jwt_env .*jwt_file/);
    const gha = await run({ method: 'jwt', role: 'ci' }, { env: { GITHUB_ACTIONS: 'true' } });
    assert.match(gha.error?.message ?? '', /permissions: id-token: write/);
  });
});

/** The GitHub Actions token endpoint, as far as the agent sees it. */
interface OidcServer {
  url: string;
  requests: Array<{ url: string; authorization: string | undefined }>;
  mode: 'ok' | 'forbidden' | 'fail-once' | 'hang' | 'redirect' | 'no-value';
  redirectTo: string;
  close(): Promise<void>;
}

async function startOidcServer(): Promise<OidcServer> {
  const state: OidcServer = {
    url: '',
    requests: [],
    mode: 'ok',
    redirectTo: '',
    close: async () => undefined,
  };
  let failed = false;
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    state.requests.push({ url: req.url ?? '', authorization: req.headers.authorization });
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `bearer ${REQUEST_TOKEN}`) return send(401, { message: 'bad token' });
    if (state.mode === 'forbidden') return send(403, { message: `nope ${REQUEST_TOKEN}` });
    if (state.mode === 'fail-once' && !failed) {
      failed = true;
      return send(500, { message: 'boom' });
    }
    if (state.mode === 'hang') return undefined;
    if (state.mode === 'redirect') {
      res.writeHead(302, { location: state.redirectTo });
      return res.end();
    }
    if (state.mode === 'no-value') return send(200, {});
    const audience =
      new URL(req.url ?? '/', 'http://x').searchParams.get('audience') ?? 'https://github.com/default';
    return send(200, { count: 1, value: ciJwt({ aud: audience }) });
  };
  const server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}

describe('vault auth: jwt in GitHub Actions', () => {
  let oidc: OidcServer;
  let elsewhere: OidcServer;
  before(async () => {
    oidc = await startOidcServer();
    elsewhere = await startOidcServer();
  });
  after(async () => {
    await oidc?.close();
    await elsewhere?.close();
  });
  beforeEach(() => {
    oidc.mode = 'ok';
    oidc.requests.length = 0;
    elsewhere.requests.length = 0;
  });

  const ghaEnv = () => ({
    GITHUB_ACTIONS: 'true',
    ACTIONS_ID_TOKEN_REQUEST_URL: `${oidc.url}/_apis/token?api-version=2.0`,
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: REQUEST_TOKEN,
  });
  const settings: VaultAuthSettings = { method: 'jwt', mount: 'ci/jwt', role: 'ci', audience: AUD };

  test('when running there then the OIDC token is requested with the audience and used to log in', async () => {
    const { result, lines } = await run(settings, { env: ghaEnv() });
    assert.equal(result?.owned, true);
    assert.equal(oidc.requests.length, 1);
    const sent = new URL(oidc.requests[0]?.url ?? '', 'http://x');
    assert.equal(sent.pathname, '/_apis/token');
    assert.equal(sent.searchParams.get('api-version'), '2.0');
    assert.deepEqual(sent.searchParams.getAll('audience'), [AUD]);
    assert.equal(oidc.requests[0]?.authorization, `bearer ${REQUEST_TOKEN}`);
    assert.deepEqual(trail(), ['POST /v1/auth/ci/jwt/login 200']);
    assertNoCanary(lines, [REQUEST_TOKEN, result?.token ?? 'x'], 'log');
  });

  test('when no audience is configured then none is sent (and this role rejects the default one)', async () => {
    const { error } = await run({ ...settings, audience: undefined }, { env: ghaEnv() });
    assert.equal(new URL(oidc.requests[0]?.url ?? '', 'http://x').searchParams.has('audience'), false);
    assert.equal(error?.code, 'vault.login');
  });

  test('when jwt_env is configured then it wins over the Actions endpoint', async () => {
    const { result } = await run(
      { ...settings, jwtEnv: 'MY_JWT' },
      { env: { ...ghaEnv(), MY_JWT: ciJwt() } },
    );
    assert.equal(result?.owned, true);
    assert.equal(oidc.requests.length, 0);
  });

  test('when the endpoint refuses then vault.oidc says id-token: write and never shows the request token', async () => {
    oidc.mode = 'forbidden';
    const { error, lines } = await run(settings, { env: ghaEnv(), maxRetries: 3 });
    assert.ok(error instanceof PermissionError);
    assert.equal(error.code, 'vault.oidc');
    assert.equal(error.details.status, 403);
    assert.match(
      error.message,
      /127\.0\.0\.1:\d+ answered 403; does the job have "permissions: id-token: write"/,
    );
    assert.equal(oidc.requests.length, 1, 'a 403 is not retried');
    assert.deepEqual(trail(), []);
    assertNoCanary(error, [REQUEST_TOKEN, 'api-version'], 'error');
    assertNoCanary(lines, [REQUEST_TOKEN], 'log');
  });

  test('when the endpoint fails once with 500 then it is retried', async () => {
    oidc.mode = 'fail-once';
    const { result } = await run(settings, { env: ghaEnv(), maxRetries: 2 });
    assert.equal(result?.owned, true);
    assert.equal(oidc.requests.length, 2);
  });

  test('when the endpoint does not answer then the request times out as vault.oidc', async () => {
    oidc.mode = 'hang';
    const { error } = await run(settings, { env: ghaEnv(), timeoutMs: 200 });
    assert.ok(error instanceof UnavailableError);
    assert.equal(error.code, 'vault.oidc');
    assert.match(error.message, /timed out after 200 ms/);
  });

  test('when the boot deadline passes then the error is provider.deadline', async () => {
    oidc.mode = 'hang';
    const { error } = await run(settings, { env: ghaEnv(), signal: AbortSignal.timeout(150) });
    assert.equal(error?.code, 'provider.deadline');
  });

  test('when the endpoint redirects then it is not followed and the bearer goes nowhere else', async () => {
    oidc.mode = 'redirect';
    oidc.redirectTo = `${elsewhere.url}/steal`;
    const { error } = await run(settings, { env: ghaEnv(), maxRetries: 2 });
    assert.equal(error?.code, 'vault.oidc');
    assert.match(error?.message ?? '', /redirect \(302\); not followed/);
    assert.equal(oidc.requests.length, 1);
    assert.equal(elsewhere.requests.length, 0);
    assertNoCanary(error, [REQUEST_TOKEN], 'error');
  });

  test('when the answer has no value then vault.oidc says so', async () => {
    oidc.mode = 'no-value';
    const { error } = await run(settings, { env: ghaEnv() });
    assert.equal(error?.code, 'vault.oidc');
    assert.match(error?.message ?? '', /without a token value/);
  });

  test('when the endpoint is plain http off loopback then the bearer is never sent', async () => {
    const env = { ...ghaEnv(), ACTIONS_ID_TOKEN_REQUEST_URL: 'http://192.0.2.1/_apis/token?api-version=2.0' };
    const started = Date.now();
    const { error } = await run(settings, { env });
    assert.equal(error?.code, 'vault.oidc');
    assert.match(error?.message ?? '', /https is required/);
    // Refused before connecting (the message says so); the bound only catches a hang, with room
    // for a busy machine.
    assert.ok(Date.now() - started < 30_000);
  });

  test('when a plain-http name resolves off loopback then the bearer is never sent, however it is spelt', async () => {
    const port = new URL(oidc.url).port;
    const base = { timeoutMs: 5_000, signal: AbortSignal.timeout(30_000), maxRetries: 0 };
    const env = (host: string) => ({
      ACTIONS_ID_TOKEN_REQUEST_URL: `http://${host}:${port}/_apis/token?api-version=2.0`,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: REQUEST_TOKEN,
    });
    for (const [host, addresses] of [
      ['runtime.localhost', [{ address: '192.0.2.1' }]],
      ['localhost', [{ address: '127.0.0.1' }, { address: '192.0.2.1' }]],
      ['nowhere.localhost', []],
    ] as const) {
      await assert.rejects(
        requestGithubOidcToken({ ...base, env: env(host), lookup: async () => [...addresses] }),
        (err: Error & { code?: string }) =>
          err.code === 'vault.oidc' && /https is required/.test(err.message),
        host,
      );
    }
    await assert.rejects(requestGithubOidcToken({ ...base, env: env('[2001:db8::1]') }), /https is required/);
    assert.equal(oidc.requests.length, 0, 'nothing reached the endpoint');
    // A name that resolves to loopback only: the request goes to the address that was judged.
    const token = await requestGithubOidcToken({
      ...base,
      env: env('runtime.localhost'),
      lookup: async () => [{ address: '127.0.0.1' }],
    });
    assert.equal(typeof token, 'string');
    assert.equal(oidc.requests.length, 1);
    assert.equal(oidc.requests[0]?.authorization, `bearer ${REQUEST_TOKEN}`);
  });
});

describe('vault auth: kubernetes', () => {
  test('when the default token file holds a bound service account then it logs in at auth/kubernetes/login', async () => {
    const jwt = saJwt('default', 'app');
    const { result, lines } = await run(
      { method: 'kubernetes', role: 'app' },
      { files: { [DEFAULT_K8S_TOKEN_FILE]: `${jwt}\n` } },
    );
    assert.equal(result?.method, 'kubernetes');
    assert.equal(result?.owned, true);
    assert.equal(result?.leaseDuration, 3600);
    assert.deepEqual(trail(), ['POST /v1/auth/kubernetes/login 200']);
    assertNoCanary(lines, [jwt, result?.token ?? 'x'], 'log');
  });

  test('when the mount and token file are custom then it posts to auth/<mount>/login, never auth//login', async () => {
    const { result } = await run(
      { method: 'kubernetes', role: 'worker', mount: 'k8s-prod', tokenFile: '/var/run/secrets/tokens/vault' },
      { files: { '/var/run/secrets/tokens/vault': saJwt('prod', 'worker') } },
    );
    assert.equal(result?.mount, 'k8s-prod');
    assert.deepEqual(trail(), ['POST /v1/auth/k8s-prod/login 200']);
  });

  test('when the namespace is not bound then vault.login says "namespace not authorized"', async () => {
    const jwt = saJwt('other', 'app');
    const { error } = await run(
      { method: 'kubernetes', role: 'app' },
      { files: { [DEFAULT_K8S_TOKEN_FILE]: jwt } },
    );
    assert.equal(error?.code, 'vault.login');
    assert.equal(error?.details.status, 403);
    assert.match(error?.message ?? '', /namespace not authorized$/);
    assertNoCanary(error, [jwt], 'error');
  });

  test('when the service account token is signed by another key then it is a 403 with the mount hint', async () => {
    const jwt = saJwt('default', 'app', makeJwtKey('RS256'));
    const { error } = await run(
      { method: 'kubernetes', role: 'app' },
      { files: { [DEFAULT_K8S_TOKEN_FILE]: jwt } },
    );
    assert.equal(error?.code, 'vault.login');
    assert.match(
      error?.message ?? '',
      /permission denied; if the credential is right, check .*auth\/kubernetes\//,
    );
    assertNoCanary(error, [jwt], 'error');
  });

  test('when the role is unknown then the 400 names it', async () => {
    const { error } = await run(
      { method: 'kubernetes', role: 'ghost' },
      { files: { [DEFAULT_K8S_TOKEN_FILE]: saJwt('default', 'app') } },
    );
    assert.match(error?.message ?? '', /\(400\): invalid role name "ghost"/);
  });

  test('when the token file is missing then the error names it and hints at automounting', async () => {
    const { error } = await run({ method: 'kubernetes', role: 'app' });
    assert.ok(error instanceof PermissionError);
    assert.equal(error.code, 'vault.auth.credential');
    assert.match(error.message, /serviceaccount\/token \(ENOENT\); is the service-account token mounted/);
    assert.deepEqual(trail(), []);
  });
});
