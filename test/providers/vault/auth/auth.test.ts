import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ConfigError, PermissionError, type SecrunError } from '../../../../src/base/errors.ts';
import type { VaultAuthSettings } from '../../../../src/config/index.ts';
import { parseSeed } from '../../../../src/dev/seed.ts';
import { startVaultServer, type VaultDevServer } from '../../../../src/dev/vault/server.ts';
import type { DocumentRequest } from '../../../../src/providers/provider.ts';
import {
  checkAuthSettings,
  consumedVariables,
  createVaultAuth,
  type VaultAuthOptions,
} from '../../../../src/providers/vault/auth/index.ts';
import type { VaultClient } from '../../../../src/providers/vault/client.ts';
import { createVaultProvider } from '../../../../src/providers/vault/provider.ts';
import {
  assertNoCanary,
  authContext,
  captureLogger,
  devClient,
  memReadFile,
  rejection,
} from '../../../helpers/vault-auth.ts';
import { rawRequest } from '../../../helpers/vault-target.ts';

const ROOT = 'hvs.CANARY-ROOT-approle';
const ROLE_ID = 'CANARY-ROLE-ID-web-0001';
const SECRET_ID = 'CANARY-SECRET-ID-web-0001';
const BAD_SECRET = 'CANARY-WRONG-SECRET-0002';
const TOKEN = 'hvs.CANARY-STATIC-TOKEN';
const CANARIES = [ROOT, ROLE_ID, SECRET_ID, BAD_SECRET, TOKEN];

const seedYaml = `
vault:
  root_token: ${ROOT}
  kv:
    secret/app/db: { password: s3cr3t-value }
  policies:
    app:
      - { path: "secret/data/app/*", capabilities: [read] }
  auth:
    approle:
      type: approle
      roles:
        web:
          role_id: ${ROLE_ID}
          secret_ids: [${SECRET_ID}]
          policies: [app]
          token_ttl: 20m
    ops/approle:
      type: approle
      roles:
        batch:
          role_id: batch-role-id
          bind_secret_id: false
          policies: [app]
`;

describe('vault auth: settings and consumed variables', () => {
  const bad = (settings: VaultAuthSettings, pattern: RegExp) => {
    assert.throws(
      () => checkAuthSettings(settings),
      (err: unknown) =>
        err instanceof ConfigError && err.code === 'vault.auth.config' && pattern.test(err.message),
    );
  };

  test('when approle has no role id then a ConfigError names role_id and role_id_file', () => {
    bad({ method: 'approle', secretIdEnv: 'X' }, /role_id or vault\.auth\.role_id_file/);
    bad({ method: 'approle', roleId: '   ' }, /role_id/);
  });

  test('when two sources of one credential are set then a ConfigError names both keys', () => {
    bad({ method: 'approle', roleId: 'a', roleIdFile: '/f' }, /role_id and vault\.auth\.role_id_file/);
    bad({ method: 'approle', roleId: 'a', secretIdFile: '/f', secretIdEnv: 'S' }, /secret_id_file and/);
    bad({ method: 'jwt', jwtFile: '/f', jwtEnv: 'J' }, /jwt_file and vault\.auth\.jwt_env/);
  });

  test('when wrapped has no token source or no expected path then a ConfigError says what to set', () => {
    bad({ method: 'approle', roleId: 'a', wrapped: true }, /secret_id_file or secret_id_env/);
    bad({ method: 'approle', roleId: 'a', wrapped: true, secretIdEnv: 'W' }, /wrapped_path/);
    assert.doesNotThrow(() =>
      checkAuthSettings({ method: 'approle', roleId: 'a', wrapped: true, secretIdEnv: 'W', role: 'web' }),
    );
  });

  test('when kubernetes has no role or the mount is malformed then a ConfigError', () => {
    bad({ method: 'kubernetes' }, /vault\.auth\.role/);
    bad({ method: 'kubernetes', role: 'app', mount: 'a//b' }, /vault\.auth\.mount/);
    bad({ method: 'jwt', mount: '../sys' }, /vault\.auth\.mount/);
    bad({ method: 'jwt', mount: '/' }, /vault\.auth\.mount/);
    bad({ method: 'ldap' as VaultAuthSettings['method'] }, /token, approle, kubernetes, jwt or cert/);
  });

  test('when createVaultAuth gets bad settings then it throws before any login', () => {
    const { logger } = captureLogger();
    assert.throws(
      () => createVaultAuth({ method: 'kubernetes' }, { env: {}, homeDir: '/h', logger }),
      ConfigError,
    );
  });

  test('when a method reads a variable then consumedVariables lists exactly it', () => {
    assert.deepEqual(consumedVariables({ method: 'approle', roleId: 'r', secretIdEnv: 'APP_SECRET_ID' }), [
      'APP_SECRET_ID',
    ]);
    assert.deepEqual(consumedVariables({ method: 'jwt', jwtEnv: 'VAULT_ID_TOKEN' }), ['VAULT_ID_TOKEN']);
    assert.deepEqual(consumedVariables({ method: 'approle', roleId: 'r', secretIdFile: '/f' }), []);
    assert.deepEqual(consumedVariables({ method: 'jwt', jwtFile: '/f' }), []);
    assert.deepEqual(consumedVariables({ method: 'token' }), []);
    assert.deepEqual(consumedVariables({ method: 'kubernetes', role: 'app', jwtEnv: 'UNUSED' }), []);
  });
});

describe('vault auth: token', () => {
  const run = (
    env: Record<string, string>,
    files: Record<string, string>,
    settings: Partial<VaultAuthSettings> = {},
  ) => {
    const { logger } = captureLogger();
    const auth = createVaultAuth(
      { method: 'token', ...settings },
      { env, homeDir: '/home/u', logger, readFile: memReadFile(files) },
    );
    const client = devClient({ VAULT_ADDR: 'http://127.0.0.1:1' }, logger);
    return auth(authContext(client, logger, env)).finally(() => client.close());
  };

  test('when VAULT_TOKEN is set then it wins and the token is not owned', async () => {
    const r = await run(
      { VAULT_TOKEN: ` ${TOKEN}\n` },
      { '/home/u/.vault-token': 'hvs.other', '/t': 'hvs.file' },
      { tokenFile: '/t' },
    );
    assert.deepEqual(r, { token: TOKEN, method: 'token', owned: false });
  });

  test('when only ~/.vault-token exists then it is used before token_file', async () => {
    const r = await run({}, { '/home/u/.vault-token': `${TOKEN}\n`, '/t': 'hvs.file' }, { tokenFile: '/t' });
    assert.equal(r.token, TOKEN);
    assert.equal(r.owned, false);
  });

  test('when neither is present then token_file is read (trimmed)', async () => {
    const r = await run({ VAULT_TOKEN: '' }, { '/t': `  ${TOKEN}\n` }, { tokenFile: '/t' });
    assert.equal(r.token, TOKEN);
  });

  test('when token_file is missing then a PermissionError names the file', async () => {
    const err = (await rejection(run({}, {}, { tokenFile: '/run/missing' }))) as SecrunError;
    assert.ok(err instanceof PermissionError);
    assert.equal(err.code, 'vault.auth.credential');
    assert.match(err.message, /\/run\/missing \(ENOENT\)/);
  });

  test('when there is no token anywhere then vault.noToken says how to get one', async () => {
    const err = (await rejection(run({}, {}))) as SecrunError;
    assert.equal(err.code, 'vault.noToken');
    assert.match(err.message, /VAULT_TOKEN/);
  });
});

describe('vault auth: approle against the dev server', () => {
  let s: VaultDevServer;
  before(async () => {
    s = await startVaultServer({ seed: parseSeed(seedYaml) });
  });
  after(async () => {
    await s?.close();
  });

  const login = async (settings: Omit<VaultAuthSettings, 'method'>, o: Partial<VaultAuthOptions> = {}) => {
    const { logger, lines } = captureLogger();
    const env = o.env ?? {};
    const auth = createVaultAuth(
      { method: 'approle', ...settings },
      {
        env,
        homeDir: '/h',
        logger,
        readFile: memReadFile({ '/run/role-id': `${ROLE_ID}\n`, '/run/secret-id': SECRET_ID }),
        ...o,
      },
    );
    const client: VaultClient = devClient({ VAULT_ADDR: s.url }, logger);
    try {
      return { result: await auth(authContext(client, logger, env)), lines };
    } catch (err) {
      return { error: err as SecrunError, lines };
    } finally {
      client.close();
    }
  };

  test('when the secret id comes from a file then login returns an owned token with its details', async () => {
    const { result, lines } = await login({ roleIdFile: '/run/role-id', secretIdFile: '/run/secret-id' });
    assert.ok(result);
    assert.match(result.token, /^hvs\./);
    assert.equal(result.method, 'approle');
    assert.equal(result.owned, true);
    assert.equal(result.mount, 'approle');
    assert.ok(result.accessor);
    assert.ok(result.policies?.includes('app'));
    assert.equal(result.leaseDuration, 1200);
    assert.equal(typeof result.renewable, 'boolean');
    const lookup = await rawRequest(s.url, 'GET', '/v1/auth/token/lookup-self', { token: result.token });
    assert.equal(lookup.status, 200);
    assert.equal(lookup.body.data.path, 'auth/approle/login');
    assertNoCanary(lines, [...CANARIES, result.token], 'log');
    assert.equal(s.log.filter({ path: '/v1/auth/approle/login' }).at(-1)?.status, 200);
  });

  test('when the secret id comes from a variable then login succeeds', async () => {
    const { result } = await login(
      { roleId: ROLE_ID, secretIdEnv: 'APP_SECRET_ID' },
      { env: { APP_SECRET_ID: ` ${SECRET_ID} ` } },
    );
    assert.equal(result?.owned, true);
  });

  test('when the secret id is wrong then vault.login carries Vault message, method and mount only', async () => {
    const { error, lines } = await login(
      { roleId: ROLE_ID, secretIdEnv: 'APP_SECRET_ID' },
      { env: { APP_SECRET_ID: BAD_SECRET } },
    );
    assert.ok(error instanceof PermissionError);
    assert.equal(error.code, 'vault.login');
    assert.equal(error.exitCode, 77);
    assert.match(
      error.message,
      /approle login at auth\/approle\/login failed \(400\): invalid role or secret ID/,
    );
    assert.equal(error.details.method, 'approle');
    assert.equal(error.details.mount, 'approle');
    assert.equal(error.details.status, 400);
    assertNoCanary(error, CANARIES, 'error');
    assertNoCanary(lines, CANARIES, 'log');
  });

  test('when the secret-id variable is not set then a PermissionError names it and nothing is sent', async () => {
    s.log.clear();
    const { error } = await login({ roleId: ROLE_ID, secretIdEnv: 'APP_SECRET_ID' });
    assert.ok(error instanceof PermissionError);
    assert.equal(error.code, 'vault.auth.credential');
    assert.match(error.message, /APP_SECRET_ID is not set/);
    assert.equal(s.log.entries.length, 0);
  });

  test('when the role-id file is missing then a PermissionError names the file', async () => {
    const { error } = await login({ roleIdFile: '/run/nope', secretIdFile: '/run/secret-id' });
    assert.equal(error?.code, 'vault.auth.credential');
    assert.match(error?.message ?? '', /AppRole role_id: cannot read \/run\/nope \(ENOENT\)/);
  });

  test('when no secret id is configured for a role that needs one then the error says which keys to set', async () => {
    const { error } = await login({ roleId: ROLE_ID });
    assert.equal(error?.code, 'vault.login');
    assert.match(error?.message ?? '', /missing secret_id; .*secret_id_file or vault\.auth\.secret_id_env/);
  });

  test('when the role has bind_secret_id false and a custom mount then role_id alone logs in there', async () => {
    s.log.clear();
    const { result } = await login({ roleId: 'batch-role-id', mount: '/ops/approle/' });
    assert.equal(result?.mount, 'ops/approle');
    assert.deepEqual(
      s.log.entries.map((e) => `${e.method} ${e.path} ${e.status}`),
      ['POST /v1/auth/ops/approle/login 200'],
    );
  });

  test('when nothing is mounted at the mount then the 403 names the mount to check', async () => {
    const { error } = await login({ roleId: ROLE_ID, secretIdFile: '/run/secret-id', mount: 'nope' });
    assert.equal(error?.code, 'vault.login');
    assert.match(error?.message ?? '', /\(403\).*auth method is enabled at auth\/nope\//);
    assertNoCanary(error, CANARIES, 'error');
  });

  test('when Vault is unreachable then the error is vault.unavailable without secrets', async () => {
    const { logger } = captureLogger();
    const auth = createVaultAuth(
      { method: 'approle', roleId: ROLE_ID, secretIdEnv: 'S' },
      { env: { S: SECRET_ID }, homeDir: '/h', logger },
    );
    const client = devClient({ VAULT_ADDR: 'http://127.0.0.1:1' }, logger);
    const err = (await rejection(auth(authContext(client, logger)))) as SecrunError;
    client.close();
    assert.equal(err.code, 'vault.unavailable');
    assertNoCanary(err, CANARIES, 'error');
  });

  test('when the provider uses approle auth then it reads secrets and revokes the owned token at close', async () => {
    const { logger, lines } = captureLogger();
    const env = { VAULT_ADDR: s.url, APP_SECRET_ID: SECRET_ID };
    const provider = createVaultProvider({
      env,
      logger,
      homeDir: '/h',
      maxRetries: 0,
      auth: createVaultAuth(
        { method: 'approle', roleId: ROLE_ID, secretIdEnv: 'APP_SECRET_ID' },
        { env, homeDir: '/h', logger },
      ),
    });
    const req: DocumentRequest = { key: 'k', scheme: 'vault', path: 'secret/app/db', options: {} };
    const results = await provider.readAll([req], AbortSignal.timeout(10_000));
    const r = results.get('k');
    assert.ok(r?.ok);
    assert.deepEqual(r.doc.value, { password: 's3cr3t-value' });
    assert.equal(provider.authMethod, 'approle');
    s.log.clear();
    await provider.close();
    assert.deepEqual(
      s.log.entries.map((e) => `${e.path} ${e.status}`),
      ['/v1/auth/token/revoke-self 204'],
    );
    assertNoCanary(lines, CANARIES, 'log');
  });
});
