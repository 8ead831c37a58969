import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ConfigError, InternalError } from '../../src/base/errors.ts';
import { createLogger, silentLogger } from '../../src/base/log.ts';
import { type SecretsManagerDevServer, startSecretsManagerServer } from '../../src/dev/aws/server.ts';
import { parseSeed } from '../../src/dev/seed.ts';
import { startVaultServer, type VaultDevServer } from '../../src/dev/vault/server.ts';
import type { Provider } from '../../src/providers/provider.ts';
import { createProviderRegistry } from '../../src/providers/registry.ts';

function stubProvider(scheme: Provider['scheme'], onClose: () => Promise<void> = async () => {}): Provider {
  return { scheme, readAll: async () => new Map(), close: onClose };
}

describe('provider registry', () => {
  test('when a scheme is asked for concurrently then its provider is created once and shared', async () => {
    let made = 0;
    const registry = createProviderRegistry({
      env: {},
      logger: silentLogger,
      factories: {
        awssm: async () => {
          made++;
          await new Promise((r) => setImmediate(r));
          return stubProvider('awssm');
        },
      },
    });
    assert.deepEqual(registry.loaded(), []);
    const [a, b] = await Promise.all([registry.get('awssm'), registry.get('awssm')]);
    assert.equal(a, b);
    assert.equal(await registry.get('awssm'), a);
    assert.equal(made, 1);
    assert.deepEqual(registry.loaded(), ['awssm']);
  });

  test('when a factory fails then the typed error is passed on and the next call tries again', async () => {
    let calls = 0;
    const registry = createProviderRegistry({
      env: {},
      logger: silentLogger,
      factories: {
        vault: async () => {
          calls++;
          if (calls === 1) throw new ConfigError('VAULT_ADDR is bad', 'vault.badAddress');
          return stubProvider('vault');
        },
      },
    });
    await assert.rejects(
      registry.get('vault'),
      (e: unknown) => e instanceof ConfigError && e.code === 'vault.badAddress',
    );
    assert.deepEqual(registry.loaded(), []);
    assert.equal((await registry.get('vault')).scheme, 'vault');
    assert.equal(calls, 2);
  });

  test('when an unknown scheme is asked for then it is an internal error', async () => {
    const registry = createProviderRegistry({ env: {}, logger: silentLogger });
    await assert.rejects(registry.get('ldap' as 'vault'), (e: unknown) => e instanceof InternalError);
  });

  test('when closing then every created provider is closed once and a failing close is logged, not thrown', async () => {
    const closed: string[] = [];
    const lines: string[] = [];
    const registry = createProviderRegistry({
      env: {},
      logger: createLogger({ level: 'warn', write: (l) => lines.push(l) }),
      factories: {
        vault: async () =>
          stubProvider('vault', async () => {
            closed.push('vault');
            throw new Error('revoke failed');
          }),
        awssm: async () => stubProvider('awssm', async () => void closed.push('awssm')),
      },
    });
    await registry.get('vault');
    await registry.get('awssm');
    await registry.closeAll();
    await registry.closeAll();
    assert.deepEqual(closed.sort(), ['awssm', 'vault']);
    assert.equal(lines.length, 1);
    assert.match(lines[0] ?? '', /could not close a provider provider=vault/);
  });
});

/**
 * Which packages a child process loaded is read from a `module.registerHooks` resolve hook
 * installed before the registry is imported: it sees every `import` and `require` resolution
 * (ESM and CommonJS alike), so a package that was loaded at all shows up by its file URL.
 * `require.cache` is checked as a second witness for the CommonJS entry points of both SDKs.
 */
describe('provider registry: SDKs are loaded lazily', () => {
  let aws: SecretsManagerDevServer;
  let vault: VaultDevServer;
  const root = fileURLToPath(new URL('../..', import.meta.url));

  before(async () => {
    aws = await startSecretsManagerServer({
      seed: parseSeed('aws:\n  secrets:\n    app/token: aws-value\n', 'lazy-aws'),
    });
    vault = await startVaultServer({
      seed: parseSeed('vault:\n  kv:\n    secret/app/db:\n      password: vault-value\n', 'lazy-vault'),
    });
  });
  after(async () => {
    await aws.close();
    await vault.close();
  });

  async function runChild(scheme: 'vault' | 'awssm', path: string) {
    const registryUrl = new URL('../../src/providers/registry.ts', import.meta.url).href;
    const logUrl = new URL('../../src/base/log.ts', import.meta.url).href;
    const script = `
      import { registerHooks, createRequire } from 'node:module';
      const seen = new Set();
      registerHooks({
        resolve(specifier, context, next) {
          const r = next(specifier, context);
          seen.add(r.url);
          return r;
        },
      });
      const { createProviderRegistry } = await import(${JSON.stringify(registryUrl)});
      const { silentLogger } = await import(${JSON.stringify(logUrl)});
      const registry = createProviderRegistry({ env: process.env, logger: silentLogger, homeDir: '/nonexistent' });
      const before = [...seen].length;
      const provider = await registry.get(${JSON.stringify(scheme)});
      const req = { scheme: ${JSON.stringify(scheme)}, path: ${JSON.stringify(path)}, options: {}, key: 'k' };
      const result = (await provider.readAll([req], AbortSignal.timeout(30000))).get('k');
      const loaded = registry.loaded();
      await registry.closeAll();
      const cache = Object.keys(createRequire(import.meta.url).cache);
      const has = (pkg) => ({
        hooks: [...seen].some((u) => u.includes('/node_modules/' + pkg + '/')),
        cache: cache.some((f) => f.includes('/node_modules/' + pkg + '/')),
      });
      process.stdout.write(JSON.stringify({
        ok: result?.ok === true,
        error: result?.ok === false ? result.error.code : undefined,
        loaded,
        resolvedAtStart: before,
        nodeVault: has('node-vault'),
        awsSdk: has('@aws-sdk/client-secrets-manager'),
      }));
    `;
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: '/nonexistent',
      AWS_CONFIG_FILE: '/nonexistent/config',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_REGION: aws.region,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: aws.url,
      AWS_ACCESS_KEY_ID: aws.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: aws.credentials.secretAccessKey,
      VAULT_ADDR: vault.url,
      VAULT_TOKEN: vault.rootToken,
    };
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      env,
      cwd: root,
      timeout: 60_000,
    });
    return JSON.parse(stdout) as {
      ok: boolean;
      error?: string;
      loaded: string[];
      resolvedAtStart: number;
      nodeVault: { hooks: boolean; cache: boolean };
      awsSdk: { hooks: boolean; cache: boolean };
    };
  }

  test('when only awssm references are resolved then node-vault is never loaded (and the AWS SDK is)', async () => {
    const out = await runChild('awssm', 'app/token');
    assert.equal(out.error, undefined);
    assert.equal(out.ok, true);
    assert.deepEqual(out.loaded, ['awssm']);
    assert.ok(out.resolvedAtStart > 0, 'the resolve hook saw nothing: the detector is broken');
    assert.deepEqual(
      out.awsSdk,
      { hooks: true, cache: true },
      'positive control: the SDK load must be visible',
    );
    assert.deepEqual(out.nodeVault, { hooks: false, cache: false });
    assert.equal(aws.log.filter({ operation: 'BatchGetSecretValue' }).length, 1);
  });

  test('when only vault references are resolved then the AWS SDK is never loaded (and node-vault is)', async () => {
    const out = await runChild('vault', 'secret/app/db');
    assert.equal(out.error, undefined);
    assert.equal(out.ok, true);
    assert.deepEqual(out.loaded, ['vault']);
    assert.deepEqual(
      out.nodeVault,
      { hooks: true, cache: true },
      'positive control: node-vault load must be visible',
    );
    assert.deepEqual(out.awsSdk, { hooks: false, cache: false });
  });
});
