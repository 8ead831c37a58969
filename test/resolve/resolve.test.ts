import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { inspect } from 'node:util';
import {
  ConfigError,
  ExitCode,
  NotFoundError,
  PermissionError,
  ResolveError,
} from '../../src/base/errors.ts';
import { silentLogger } from '../../src/base/log.ts';
import { type SecretsManagerDevServer, startSecretsManagerServer } from '../../src/dev/aws/server.ts';
import { parseSeed } from '../../src/dev/seed.ts';
import { startVaultServer, type VaultDevServer } from '../../src/dev/vault/server.ts';
import type {
  DocumentRequest,
  DocumentResult,
  Provider,
  SecretDocument,
} from '../../src/providers/provider.ts';
import { createProviderRegistry, type ProviderRegistry } from '../../src/providers/registry.ts';
import { parseRef } from '../../src/refs/index.ts';
import { type ProviderSource, resolveAll } from '../../src/resolve/resolve.ts';

type Scheme = 'vault' | 'awssm';
type ReadFn = (requests: DocumentRequest[], signal: AbortSignal) => Promise<Map<string, DocumentResult>>;

/** A fake provider that records every readAll call. */
function fakeProvider(scheme: Scheme, read: ReadFn): Provider & { calls: DocumentRequest[][] } {
  const calls: DocumentRequest[][] = [];
  return {
    scheme,
    calls,
    readAll(requests, signal) {
      calls.push(requests);
      return read(requests, signal);
    },
    async close() {},
  };
}

/** Serves documents from a table keyed by path; unknown paths are NotFound. */
function tableReader(table: Record<string, SecretDocument>): ReadFn {
  return async (requests) => {
    const out = new Map<string, DocumentResult>();
    for (const r of requests) {
      const doc = table[r.path];
      out.set(
        r.key,
        doc
          ? { ok: true, doc }
          : { ok: false, error: new NotFoundError(`secret not found: ${r.path}`, 'fake.notFound') },
      );
    }
    return out;
  };
}

function registryOf(
  providers: Partial<Record<Scheme, Provider | Error>>,
): ProviderSource & { gets: Scheme[] } {
  const gets: Scheme[] = [];
  return {
    gets,
    async get(scheme) {
      gets.push(scheme);
      const p = providers[scheme];
      if (!p) throw new Error(`no provider for ${scheme}`);
      if (p instanceof Error) throw p;
      return p;
    },
  };
}

const entry = (variable: string, ref: string) => ({ variable, ref: parseRef(ref) });
const never = new AbortController().signal;

describe('resolveAll', () => {
  test('when two variables use fields of one dynamic secret then it is read once and both come from the same lease', async () => {
    let minted = 0;
    const vault = fakeProvider('vault', async (requests) => {
      const out = new Map<string, DocumentResult>();
      for (const r of requests) {
        minted++;
        out.set(r.key, {
          ok: true,
          doc: {
            value: { username: `v-app-${minted}`, password: `pw-${minted}` },
            lease: { id: `database/creds/app/lease-${minted}`, duration: 3600, renewable: true },
          },
        });
      }
      return out;
    });
    const res = await resolveAll(
      [
        entry('DB_USER', 'vault:database/creds/app#username'),
        entry('DB_PASS', 'vault:database/creds/app#password'),
      ],
      [],
      registryOf({ vault }),
      never,
    );
    assert.equal(minted, 1);
    assert.equal(vault.calls.length, 1);
    assert.equal(vault.calls[0]?.length, 1);
    assert.equal(res.values.get('DB_USER'), 'v-app-1');
    assert.equal(res.values.get('DB_PASS'), 'pw-1');
    assert.equal(res.documents.length, 1);
    assert.deepEqual(res.documents[0]?.lease, {
      id: 'database/creds/app/lease-1',
      duration: 3600,
      renewable: true,
    });
    assert.deepEqual(res.documents[0]?.variables, ['DB_USER', 'DB_PASS']);
    assert.equal(
      res.variables.find((v) => v.variable === 'DB_PASS')?.lease?.id,
      'database/creds/app/lease-1',
    );
  });

  test('when references span two providers then each readAll is called once with all of its documents', async () => {
    const vault = fakeProvider(
      'vault',
      tableReader({ 'secret/app/db': { value: { password: 'p1', user: 'u1' }, version: 3 } }),
    );
    const awssm = fakeProvider(
      'awssm',
      tableReader({
        'prod/stripe': { value: { api_key: 'k1' }, version: 'v-uuid', stages: ['AWSCURRENT'] },
        'prod/plain': { value: 'plain-text' },
      }),
    );
    const registry = registryOf({ vault, awssm });
    const res = await resolveAll(
      [
        entry('A', 'vault:secret/app/db#password'),
        entry('B', 'vault:secret/app/db#user'),
        entry('C', 'awssm:prod/stripe#api_key'),
        entry('D', 'awssm:prod/plain'),
        entry('E', 'awssm:prod/plain?version-stage=AWSCURRENT'),
      ],
      [],
      registry,
      never,
    );
    assert.equal(vault.calls.length, 1);
    assert.equal(awssm.calls.length, 1);
    assert.deepEqual(
      vault.calls[0]?.map((r) => r.path),
      ['secret/app/db'],
    );
    assert.deepEqual(awssm.calls[0]?.map((r) => [r.path, r.options]).sort(), [
      ['prod/plain', {}],
      ['prod/plain', { 'version-stage': 'AWSCURRENT' }],
      ['prod/stripe', {}],
    ]);
    assert.deepEqual(Object.fromEntries(res.values), {
      A: 'p1',
      B: 'u1',
      C: 'k1',
      D: 'plain-text',
      E: 'plain-text',
    });
    const c = res.variables.find((v) => v.variable === 'C');
    assert.equal(c?.provider, 'awssm');
    assert.equal(c?.version, 'v-uuid');
    assert.deepEqual(c?.stages, ['AWSCURRENT']);
    assert.equal(res.variables.find((v) => v.variable === 'A')?.version, 3);
    assert.equal(res.documents.length, 4);
  });

  test('when two providers each wait for the other to start then both finish (reads run in parallel)', async () => {
    const started: Record<Scheme, () => void> = { vault: () => {}, awssm: () => {} };
    const startedP = {
      vault: new Promise<void>((r) => {
        started.vault = r;
      }),
      awssm: new Promise<void>((r) => {
        started.awssm = r;
      }),
    };
    const waitFor = (other: Scheme): ReadFn => {
      const me: Scheme = other === 'vault' ? 'awssm' : 'vault';
      return async (requests) => {
        started[me]();
        let timer: NodeJS.Timeout | undefined;
        const deadline = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`${me} waited 10 s for ${other} to start`)), 10_000);
        });
        try {
          await Promise.race([startedP[other], deadline]);
        } finally {
          clearTimeout(timer);
        }
        return tableReader({ 'x/y': { value: { f: me } } })(requests, never);
      };
    };
    const vault = fakeProvider('vault', waitFor('awssm'));
    const awssm = fakeProvider('awssm', waitFor('vault'));
    const res = await resolveAll(
      [entry('V', 'vault:x/y#f'), entry('A', 'awssm:x/y#f')],
      [],
      registryOf({ vault, awssm }),
      never,
    );
    assert.equal(res.values.get('V'), 'vault');
    assert.equal(res.values.get('A'), 'awssm');
  });

  test('when several references fail then one ResolveError lists every one of them and no value', async () => {
    const canary = `canary-${process.pid}-${Date.now()}`;
    const vault = fakeProvider(
      'vault',
      tableReader({ 'secret/app/db': { value: { password: canary, user: `${canary}-user` } } }),
    );
    const denied = new PermissionError('permission denied (403)', 'fake.denied', { status: 403 });
    const awssm = fakeProvider('awssm', async () => {
      throw denied;
    });
    const registry = registryOf({ vault, awssm });
    const err = await resolveAll(
      [
        entry('OK', 'vault:secret/app/db#password'),
        entry('MISSING_FIELD', 'vault:secret/app/db#pasword'),
        entry('NO_FIELD', 'vault:secret/app/db'),
        entry('MISSING_DOC', 'vault:secret/app/nope#x'),
        entry('AWS_ONE', 'awssm:prod/one#k'),
        entry('AWS_TWO', 'awssm:prod/two'),
      ],
      [],
      registry,
      never,
    ).then(
      () => assert.fail('resolveAll should reject'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ResolveError);
    assert.deepEqual(
      err.failures.map((f) => [f.variable, f.ref, f.error.code]),
      [
        ['MISSING_FIELD', 'vault:secret/app/db#pasword', 'secret.missingField'],
        ['NO_FIELD', 'vault:secret/app/db', 'secret.fieldRequired'],
        ['MISSING_DOC', 'vault:secret/app/nope#x', 'fake.notFound'],
        ['AWS_ONE', 'awssm:prod/one#k', 'fake.denied'],
        ['AWS_TWO', 'awssm:prod/two', 'fake.denied'],
      ],
    );
    assert.equal(err.exitCode, ExitCode.permission);
    assert.match(err.message, /MISSING_FIELD +vault:secret\/app\/db#pasword +.*"password"/);
    assert.match(
      err.message,
      /AWS_ONE, AWS_TWO +\(2 references\) +permission denied \(403\)/,
      'one shared cause is printed once',
    );
    for (const text of [err.message, JSON.stringify(err), inspect(err, { showHidden: true, depth: 20 })]) {
      assert.ok(!text.includes(canary), 'a secret value leaked into the error');
    }
  });

  test('when the registry cannot create a provider then every variable of that scheme fails with its error', async () => {
    const awssm = fakeProvider('awssm', tableReader({ a: { value: 'x' } }));
    const registry = registryOf({
      awssm,
      vault: new ConfigError('VAULT_ADDR is not set', 'vault.noAddress'),
    });
    const err = await resolveAll(
      [entry('V1', 'vault:a/b#c'), entry('V2', 'vault:a/d#c'), entry('A', 'awssm:a')],
      [],
      registry,
      never,
    ).catch((e: unknown) => e);
    assert.ok(err instanceof ResolveError);
    assert.deepEqual(
      err.failures.map((f) => [f.variable, f.error.code]),
      [
        ['V1', 'vault.noAddress'],
        ['V2', 'vault.noAddress'],
      ],
    );
    assert.equal(err.exitCode, ExitCode.config);
  });

  test('when a provider leaves a document out of its result then that variable fails as an internal error', async () => {
    const awssm = fakeProvider('awssm', async () => new Map());
    const err = await resolveAll([entry('A', 'awssm:a')], [], registryOf({ awssm }), never).catch(
      (e: unknown) => e,
    );
    assert.ok(err instanceof ResolveError);
    assert.equal(err.failures[0]?.error.code, 'resolve.noResult');
    assert.equal(err.exitCode, ExitCode.internal);
  });

  test('when a provider throws a non-typed error then it is reported without its own fields', async () => {
    const leaky = Object.assign(new Error('boom'), {
      config: { headers: { 'X-Vault-Token': 'hvs.canary' } },
    });
    const vault = fakeProvider('vault', async () => {
      throw leaky;
    });
    const err = await resolveAll([entry('A', 'vault:a/b#c')], [], registryOf({ vault }), never).catch(
      (e: unknown) => e,
    );
    assert.ok(err instanceof ResolveError);
    assert.equal(err.failures[0]?.error.code, 'internal');
    assert.ok(!inspect(err, { showHidden: true, depth: 20 }).includes('hvs.canary'));
  });

  test('when an import is used then every field becomes a prefixed variable and explicit entries win', async () => {
    const vault = fakeProvider(
      'vault',
      tableReader({
        'secret/payments/config': { value: { 'api-url': 'https://x', timeout: 30, DB_PASS: 'from-import' } },
        'secret/app/db': { value: { password: 'explicit' } },
      }),
    );
    const res = await resolveAll(
      [entry('APP_DB_PASS', 'vault:secret/app/db#password')],
      [{ ref: parseRef('vault:secret/payments/config'), prefix: 'APP_' }],
      registryOf({ vault }),
      never,
    );
    assert.equal(vault.calls.length, 1);
    assert.deepEqual(Object.fromEntries(res.values), {
      APP_DB_PASS: 'explicit',
      APP_API_URL: 'https://x',
      APP_TIMEOUT: '30',
    });
    assert.deepEqual(res.shadowed, ['APP_DB_PASS']);
    assert.deepEqual(
      res.variables.map((v) => [v.variable, v.source]),
      [
        ['APP_DB_PASS', 'entry'],
        ['APP_API_URL', 'import'],
        ['APP_TIMEOUT', 'import'],
      ],
    );
  });

  test('when an import and an entry use the same document then it is still read once', async () => {
    const vault = fakeProvider('vault', tableReader({ 'secret/cfg': { value: { a: '1', b: '2' } } }));
    const res = await resolveAll(
      [entry('ONLY_A', 'vault:secret/cfg#a')],
      [{ ref: parseRef('vault:secret/cfg'), prefix: 'CFG_' }],
      registryOf({ vault }),
      never,
    );
    assert.equal(vault.calls.length, 1);
    assert.equal(vault.calls[0]?.length, 1);
    assert.deepEqual(Object.fromEntries(res.values), { ONLY_A: '1', CFG_A: '1', CFG_B: '2' });
    assert.deepEqual(res.documents[0]?.variables, ['ONLY_A', 'CFG_A', 'CFG_B']);
  });

  test('when two imports set the same variable or an import is not an object then each is listed as a failure', async () => {
    const vault = fakeProvider(
      'vault',
      tableReader({
        'a/one': { value: { x: '1' } },
        'a/two': { value: { x: '2' } },
        'a/plain': { value: 'text' },
      }),
    );
    const err = await resolveAll(
      [],
      [
        { ref: parseRef('vault:a/one'), prefix: 'P_', label: 'import[0]' },
        { ref: parseRef('vault:a/two'), prefix: 'P_', label: 'import[1]' },
        { ref: parseRef('vault:a/plain'), prefix: 'Q_' },
      ],
      registryOf({ vault }),
      never,
    ).catch((e: unknown) => e);
    assert.ok(err instanceof ResolveError);
    assert.deepEqual(
      err.failures.map((f) => [f.variable, f.ref, f.error.code]),
      [
        ['P_X', 'vault:a/two', 'ref.importCollision'],
        ['Q_*', 'vault:a/plain', 'secret.notJson'],
      ],
    );
    assert.match(err.message, /import\[0\].*import\[1\]/);
  });

  test('when resolution succeeds then printing or serialising it shows no value', async () => {
    const canary = `canary-${Date.now()}`;
    const awssm = fakeProvider('awssm', tableReader({ s: { value: canary, createdAt: new Date(0) } }));
    const res = await resolveAll([entry('S', 'awssm:s')], [], registryOf({ awssm }), never);
    assert.equal(res.values.get('S'), canary);
    assert.equal(res.variables[0]?.createdAt?.getTime(), 0);
    assert.ok(!JSON.stringify(res).includes(canary));
    assert.ok(!inspect(res, { depth: 20 }).includes(canary));
    assert.ok(!Object.keys(res).includes('values'));
  });

  test('when there are no references then no provider is created', async () => {
    const registry = registryOf({});
    const res = await resolveAll([], [], registry, never);
    assert.equal(res.values.size, 0);
    assert.deepEqual(registry.gets, []);
  });

  test('when the boot signal is given then providers receive it', async () => {
    const ac = new AbortController();
    let seen: AbortSignal | undefined;
    const awssm = fakeProvider('awssm', async (requests, signal) => {
      seen = signal;
      return tableReader({ a: { value: 'x' } })(requests, signal);
    });
    await resolveAll([entry('A', 'awssm:a')], [], registryOf({ awssm }), ac.signal);
    assert.equal(seen, ac.signal);
  });
});

describe('resolveAll against the dev servers', () => {
  const canary = `canary-${process.pid}-${Date.now()}`;
  let aws: SecretsManagerDevServer;
  let vault: VaultDevServer;
  let registry: ProviderRegistry;

  before(async () => {
    aws = await startSecretsManagerServer({
      seed: parseSeed(
        `aws:\n  secrets:\n    prod/stripe:\n      api_key: ${canary}-stripe\n    prod/token: ${canary}-token\n`,
        'resolve-aws',
      ),
    });
    vault = await startVaultServer({
      seed: parseSeed(
        [
          'vault:',
          '  mounts:',
          '    database:',
          '      type: database',
          '      roles:',
          '        app: { default_ttl: 1h, max_ttl: 24h }',
          '  kv:',
          '    secret/app/db:',
          `      password: ${canary}-kv`,
          '      user: app',
        ].join('\n'),
        'resolve-vault',
      ),
    });
    registry = createProviderRegistry({
      env: {
        VAULT_ADDR: vault.url,
        VAULT_TOKEN: vault.rootToken,
        AWS_REGION: aws.region,
        AWS_ENDPOINT_URL_SECRETS_MANAGER: aws.url,
        AWS_ACCESS_KEY_ID: aws.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: aws.credentials.secretAccessKey,
      },
      logger: silentLogger,
      homeDir: '/nonexistent',
    });
  });
  after(async () => {
    await registry.closeAll();
    await aws.close();
    await vault.close();
  });

  test('when username and password of a dynamic role are referenced then they come from one read and one lease', async () => {
    vault.log.clear();
    aws.log.clear();
    const res = await resolveAll(
      [
        entry('DB_USER', 'vault:database/creds/app#username'),
        entry('DB_PASS', 'vault:database/creds/app#password'),
        entry('KV_PASS', 'vault:secret/app/db#password'),
        entry('STRIPE', 'awssm:prod/stripe#api_key'),
        entry('TOKEN', 'awssm:prod/token'),
      ],
      [{ ref: parseRef('vault:secret/app/db'), prefix: 'APP_' }],
      registry,
      AbortSignal.timeout(30_000),
    );
    assert.equal(vault.log.filter({ method: 'GET', path: '/v1/database/creds/app' }).length, 1);
    assert.equal(vault.log.filter({ path: /^\/v1\/secret\/data\/app\/db$/ }).length, 1);
    assert.equal(aws.log.entries.length, 1);
    assert.equal(aws.log.entries[0]?.operation, 'BatchGetSecretValue');
    const user = res.values.get('DB_USER');
    const pass = res.values.get('DB_PASS');
    assert.ok(user && pass && user !== pass);
    const dyn = res.documents.filter((d) => d.path === 'database/creds/app');
    assert.equal(dyn.length, 1);
    assert.ok(dyn[0]?.lease?.id.startsWith('database/creds/app/'));
    assert.deepEqual(dyn[0]?.variables, ['DB_USER', 'DB_PASS']);
    const userInfo = res.variables.find((v) => v.variable === 'DB_USER');
    const passInfo = res.variables.find((v) => v.variable === 'DB_PASS');
    assert.equal(userInfo?.lease?.id, passInfo?.lease?.id);
    assert.equal(res.values.get('KV_PASS'), `${canary}-kv`);
    assert.equal(res.values.get('APP_USER'), 'app');
    assert.equal(res.values.get('APP_PASSWORD'), `${canary}-kv`);
    assert.equal(res.values.get('STRIPE'), `${canary}-stripe`);
    assert.equal(res.values.get('TOKEN'), `${canary}-token`);
    assert.deepEqual(res.variables.find((v) => v.variable === 'TOKEN')?.stages, ['AWSCURRENT']);
  });

  test('when references fail in both providers then every failure is listed and no value leaks', async () => {
    const err = await resolveAll(
      [
        entry('GOOD', 'vault:secret/app/db#password'),
        entry('BAD_FIELD', 'vault:secret/app/db#pasword'),
        entry('NO_SECRET', 'awssm:prod/nope#x'),
        entry('GOOD_AWS', 'awssm:prod/stripe#api_key'),
      ],
      [],
      registry,
      AbortSignal.timeout(30_000),
    ).catch((e: unknown) => e);
    assert.ok(err instanceof ResolveError);
    assert.deepEqual(
      err.failures.map((f) => [f.variable, f.error.code]),
      [
        ['BAD_FIELD', 'secret.missingField'],
        ['NO_SECRET', 'awssm.notFound'],
      ],
    );
    assert.match(err.message, /NO_SECRET +awssm:prod\/nope#x +secret not found: prod\/nope/);
    for (const text of [err.message, JSON.stringify(err), inspect(err, { showHidden: true, depth: 20 })]) {
      assert.ok(!text.includes(canary), 'a secret value leaked into the error');
    }
  });
});
