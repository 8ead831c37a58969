import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  DeleteSecretCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { createAudit } from '../../src/base/audit.ts';
import { type SecrunError, UnavailableError } from '../../src/base/errors.ts';
import { createLogger, type Logger } from '../../src/base/log.ts';
import { type SecretsManagerDevServer, startSecretsManagerServer } from '../../src/dev/aws/server.ts';
import { parseSeed } from '../../src/dev/seed.ts';
import { createSecretsManagerProvider } from '../../src/providers/aws/provider.ts';
import type { DocumentRequest, Provider } from '../../src/providers/provider.ts';
import { documentKeyOf } from '../../src/refs/index.ts';
import { createWatcher, type WatcherOptions, type WatchTimers } from '../../src/supervise/watch.ts';
import { awsEnvFor, clientFor } from '../dev/aws/helpers.ts';
import { until } from '../helpers/poll.ts';
import { probeVaultSuite } from '../helpers/probe-providers.ts';

function doc(scheme: DocumentRequest['scheme'], path: string, options: Record<string, string> = {}) {
  return { scheme, path, options, key: documentKeyOf(scheme, path, options) } satisfies DocumentRequest;
}

function memoryLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: createLogger({ level: 'debug', write: (l) => lines.push(l) }), lines };
}

/** Timers that fire only when the test says so. */
function fakeTimers() {
  let next = 1;
  const pending = new Map<number, { fn: () => void; ms: number }>();
  const timers: WatchTimers = {
    setTimeout(fn, ms) {
      const id = next++;
      pending.set(id, { fn, ms });
      return id;
    },
    clearTimeout(handle) {
      pending.delete(handle as number);
    },
  };
  return {
    timers,
    delays: () => [...pending.values()].map((t) => t.ms),
    /** Fires the first pending timer of `ms`; false when there is none. */
    fire(ms: number): boolean {
      for (const [id, t] of pending) {
        if (t.ms !== ms) continue;
        pending.delete(id);
        t.fn();
        return true;
      }
      return false;
    },
  };
}

type Answer = string | undefined | Error | 'hang';

/** A provider whose probe answers from a table (by path), recording calls and concurrency. */
function tableProvider(scheme: DocumentRequest['scheme'], table: Map<string, Answer>) {
  const calls: Array<{ path: string; signal: AbortSignal }> = [];
  let active = 0;
  const stats = { maxActive: 0 };
  let gate: Promise<void> | undefined;
  const provider: Provider = {
    scheme,
    readAll: () => Promise.reject(new Error('not used')),
    async probe(req, signal) {
      calls.push({ path: req.path, signal });
      active++;
      stats.maxActive = Math.max(stats.maxActive, active);
      try {
        if (gate) await gate;
        const answer = table.get(req.path);
        if (answer === 'hang') return await new Promise<never>(() => undefined);
        if (answer instanceof Error) throw answer;
        return answer;
      } finally {
        active--;
      }
    },
    close: async () => undefined,
  };
  return {
    provider,
    calls,
    stats,
    hold(): () => void {
      let release = (): void => undefined;
      gate = new Promise<void>((r) => {
        release = r;
      });
      return () => {
        gate = undefined;
        release();
      };
    },
  };
}

function registryOf(...providers: Provider[]): WatcherOptions['registry'] {
  return {
    get: (scheme) => {
      const p = providers.find((x) => x.scheme === scheme);
      return p ? Promise.resolve(p) : Promise.reject(new UnavailableError(`no ${scheme}`, 'test.noProvider'));
    },
  };
}

/** Checks `cond` repeatedly for `ms`; fails as soon as it is false (for "nothing more happens"). */
async function staysFor(cond: () => boolean, what: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    assert.ok(cond(), what);
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.ok(cond(), what);
}

const A = doc('vault', 'secret/a');
const B = doc('vault', 'secret/b');
const C = doc('awssm', 'prod/c');

describe('watcher with stub providers', () => {
  test('when a version changes then the keys are reported in one onChange call, and nothing when unchanged', async () => {
    const vault = new Map<string, Answer>([
      ['secret/a', 'v1'],
      ['secret/b', 'v1'],
    ]);
    const aws = new Map<string, Answer>([['prod/c', 'x']]);
    const calls: string[][] = [];
    const w = createWatcher({
      registry: registryOf(tableProvider('vault', vault).provider, tableProvider('awssm', aws).provider),
      documents: [A, B, C, A],
      intervalMs: 1000,
      onChange: (keys) => calls.push(keys),
      logger: memoryLogger().logger,
    });
    assert.deepEqual(await w.checkNow(), [], 'the first poll takes the baseline');
    assert.deepEqual(await w.checkNow(), []);
    vault.set('secret/a', 'v2');
    aws.set('prod/c', 'y');
    assert.deepEqual(await w.checkNow(), [A.key, C.key]);
    assert.deepEqual(await w.checkNow(), []);
    assert.deepEqual(calls, [[A.key, C.key]]);
    await w.stop();
  });

  test('when a baseline from the boot read is given then a change before the first poll is reported', async () => {
    const vault = new Map<string, Answer>([
      ['secret/a', 'v2'],
      ['secret/b', 'v9'],
    ]);
    const stub = tableProvider('vault', vault);
    const t = fakeTimers();
    const calls: string[][] = [];
    const w = createWatcher({
      registry: registryOf(stub.provider),
      documents: [A, B],
      baseline: new Map([
        [A.key, 'v1'],
        [B.key, 'v9'],
      ]),
      intervalMs: 1000,
      jitter: 0,
      timers: t.timers,
      onChange: (keys) => calls.push(keys),
      logger: memoryLogger().logger,
    });
    w.start();
    assert.equal(stub.calls.length, 0, 'every document has a baseline: no poll at start');
    assert.deepEqual(t.delays(), [1000]);
    assert.ok(t.fire(1000));
    await until('the first poll reported', () => calls.length === 1);
    assert.deepEqual(calls, [[A.key]]);
    await w.stop();
  });

  test('when the provider cannot tell a version then the reread policy reports it every poll but the baseline one', async () => {
    const vault = new Map<string, Answer>([
      ['secret/a', 'v1'],
      ['secret/b', undefined],
    ]);
    const stub = tableProvider('vault', vault);
    const t = fakeTimers();
    const calls: string[][] = [];
    const { logger, lines } = memoryLogger();
    const w = createWatcher({
      registry: registryOf(stub.provider),
      documents: [A, B],
      intervalMs: 1000,
      jitter: 0,
      timers: t.timers,
      onChange: (keys) => calls.push(keys),
      logger,
    });
    w.start();
    await until('the baseline poll ran and the next one is scheduled', () => t.delays().includes(1000));
    assert.equal(stub.calls.length, 2, 'a baseline poll ran at start');
    assert.deepEqual(calls, []);
    t.fire(1000);
    await until('the second poll reported', () => calls.length === 1);
    assert.deepEqual(calls, [[B.key]]);
    assert.deepEqual(await w.checkNow(), [B.key]);
    assert.equal(lines.filter((l) => l.includes('cannot tell this document version')).length, 1);
    await w.stop();

    const ignoring = createWatcher({
      registry: registryOf(stub.provider),
      documents: [A, B],
      intervalMs: 1000,
      unknown: 'ignore',
      onChange: () => assert.fail('nothing changed'),
      logger,
    });
    assert.deepEqual(await ignoring.checkNow(), []);
    assert.deepEqual(await ignoring.checkNow(), []);
    await ignoring.stop();
  });

  test('when a provider has no probe then its documents count as unknown', async () => {
    const bare: Provider = {
      scheme: 'awssm',
      readAll: () => Promise.reject(new Error('not used')),
      close: async () => undefined,
    };
    const w = createWatcher({
      registry: registryOf(bare),
      documents: [C],
      intervalMs: 1000,
      onChange: () => undefined,
      logger: memoryLogger().logger,
    });
    assert.deepEqual(await w.checkNow(), [C.key]);
    await w.stop();
  });

  test('when a probe fails then it is logged once, not reported, and the last token is kept', async () => {
    const vault = new Map<string, Answer>([
      ['secret/a', 'v1'],
      ['secret/b', 'v1'],
    ]);
    const errors: Array<[string, string]> = [];
    const calls: string[][] = [];
    const { logger, lines } = memoryLogger();
    const w = createWatcher({
      registry: registryOf(tableProvider('vault', vault).provider),
      documents: [A, B],
      intervalMs: 1000,
      onChange: (keys) => calls.push(keys),
      onError: (err, d) => errors.push([d.key, err.code]),
      logger,
    });
    await w.checkNow();
    const outage = new UnavailableError('server error (503) at http://127.0.0.1:1', 'vault.unavailable');
    vault.set('secret/a', outage);
    assert.deepEqual(await w.checkNow(), []);
    assert.deepEqual(await w.checkNow(), []);
    assert.deepEqual(errors, [
      [A.key, 'vault.unavailable'],
      [A.key, 'vault.unavailable'],
    ]);
    assert.equal(lines.filter((l) => l.startsWith('secrun: warn: watch: cannot check')).length, 1);
    vault.set('secret/a', 'v1');
    assert.deepEqual(await w.checkNow(), [], 'same token after the outage: no change');
    assert.equal(lines.filter((l) => l.includes('works again')).length, 1);
    vault.set('secret/a', outage);
    await w.checkNow();
    vault.set('secret/a', 'v2');
    assert.deepEqual(await w.checkNow(), [A.key], 'a change during an outage is reported after it');
    assert.deepEqual(calls, [[A.key]]);
    await w.stop();
  });

  test('when a provider cannot be created then its documents fail and the others are still watched', async () => {
    const aws = new Map<string, Answer>([['prod/c', 'x']]);
    const errors: string[] = [];
    const w = createWatcher({
      registry: registryOf(tableProvider('awssm', aws).provider),
      documents: [A, C],
      intervalMs: 1000,
      onChange: () => undefined,
      onError: (err: SecrunError, d) => errors.push(`${d.key} ${err.code}`),
      logger: memoryLogger().logger,
    });
    await w.checkNow();
    aws.set('prod/c', 'y');
    assert.deepEqual(await w.checkNow(), [C.key]);
    assert.deepEqual(errors, [`${A.key} test.noProvider`, `${A.key} test.noProvider`]);
    await w.stop();
  });

  test('when polls are asked for at the same time then they run one after the other, documents in parallel', async () => {
    const vault = new Map<string, Answer>([
      ['secret/a', 'v1'],
      ['secret/b', 'v1'],
    ]);
    const stub = tableProvider('vault', vault);
    const w = createWatcher({
      registry: registryOf(stub.provider),
      documents: [A, B],
      intervalMs: 1000,
      onChange: () => undefined,
      logger: memoryLogger().logger,
    });
    await w.checkNow();
    const release = stub.hold();
    const first = w.checkNow();
    const second = w.checkNow();
    await until('both documents of the first poll are being probed', () => stub.calls.length === 4);
    await staysFor(() => stub.calls.length === 4, 'the second poll waits for the first', 50);
    vault.set('secret/a', 'v2');
    release();
    assert.deepEqual(await first, [A.key]);
    assert.deepEqual(await second, []);
    assert.equal(stub.calls.length, 6);
    assert.equal(stub.stats.maxActive, 2);
    await w.stop();
  });

  test('when a probe hangs past the poll deadline then the poll ends with an error and no change', async () => {
    const vault = new Map<string, Answer>([
      ['secret/a', 'v1'],
      ['secret/b', 'v1'],
    ]);
    const stub = tableProvider('vault', vault);
    const t = fakeTimers();
    const errors: string[] = [];
    const w = createWatcher({
      registry: registryOf(stub.provider),
      documents: [A, B],
      intervalMs: 1000,
      timeoutMs: 250,
      timers: t.timers,
      onChange: () => assert.fail('nothing changed'),
      onError: (err) => errors.push(err.code),
      logger: memoryLogger().logger,
    });
    await w.checkNow();
    vault.set('secret/a', 'hang');
    const poll = w.checkNow();
    await until('the second poll is probing', () => stub.calls.length === 4);
    assert.ok(t.fire(250), 'the poll deadline is armed');
    assert.deepEqual(await poll, []);
    assert.deepEqual(errors, ['provider.deadline']);
    assert.equal(stub.calls[2]?.signal.aborted, true, 'the probe was told to stop');
    assert.deepEqual(t.delays(), [], 'the deadline timer of a finished poll is cleared');
    await w.stop();
  });

  test('when the watcher is stopped then the poll in flight is aborted, no timer is left and nothing more is probed', async () => {
    const vault = new Map<string, Answer>([['secret/a', 'v1']]);
    const stub = tableProvider('vault', vault);
    const t = fakeTimers();
    const w = createWatcher({
      registry: registryOf(stub.provider),
      documents: [A],
      intervalMs: 1000,
      jitter: 0,
      timeoutMs: 60_000,
      timers: t.timers,
      onChange: () => assert.fail('no report after stop'),
      logger: memoryLogger().logger,
    });
    vault.set('secret/a', 'hang');
    w.start();
    await until('the baseline poll is probing', () => stub.calls.length === 1);
    const signal = stub.calls[0]?.signal;
    await w.stop();
    assert.equal(signal?.aborted, true);
    assert.deepEqual(t.delays(), []);
    assert.deepEqual(await w.checkNow(), []);
    w.start();
    assert.equal(stub.calls.length, 1);
    assert.deepEqual(t.delays(), []);
  });

  test('when jitter is set then each delay lies within it, and bad options are TypeErrors', async () => {
    const t = fakeTimers();
    let r = 0;
    const w = createWatcher({
      registry: registryOf(tableProvider('vault', new Map([['secret/a', 'v1']])).provider),
      documents: [A],
      baseline: new Map([[A.key, 'v1']]),
      intervalMs: 1000,
      jitter: 0.2,
      random: () => r,
      timers: t.timers,
      onChange: () => undefined,
      logger: memoryLogger().logger,
    });
    w.start();
    assert.deepEqual(t.delays(), [800]);
    r = 0.999999;
    t.fire(800);
    await until('the next delay is at the top of the range', () => t.delays().includes(1200));
    await w.stop();
    const base = {
      registry: registryOf(),
      documents: [],
      onChange: () => undefined,
      logger: memoryLogger().logger,
    };
    assert.throws(() => createWatcher({ ...base, intervalMs: 0 }), {
      name: 'TypeError',
      message: /intervalMs/,
    });
    assert.throws(() => createWatcher({ ...base, intervalMs: 10, jitter: 1 }), {
      name: 'TypeError',
      message: /jitter/,
    });
  });

  test('when the change handler throws then the error is logged and watching goes on; rotations are audited', async () => {
    const vault = new Map<string, Answer>([['secret/a', 'v1']]);
    const records: Array<Record<string, unknown>> = [];
    const audit = createAudit({ write: (l) => records.push(JSON.parse(l) as Record<string, unknown>) });
    const { logger, lines } = memoryLogger();
    let calls = 0;
    const w = createWatcher({
      registry: registryOf(tableProvider('vault', vault).provider),
      documents: [A],
      intervalMs: 1000,
      onChange: () => {
        calls++;
        throw new Error('handler bug');
      },
      logger,
      audit,
    });
    await w.checkNow();
    vault.set('secret/a', 'v2');
    assert.deepEqual(await w.checkNow(), [A.key]);
    vault.set('secret/a', 'v3');
    assert.deepEqual(await w.checkNow(), [A.key]);
    assert.equal(calls, 2);
    assert.equal(lines.filter((l) => l.includes('the change handler failed')).length, 2);
    assert.deepEqual(
      records.map(({ event, provider, path, from, to }) => ({ event, provider, path, from, to })),
      [
        { event: 'rotation.detected', provider: 'vault', path: 'secret/a', from: 'v1', to: 'v2' },
        { event: 'rotation.detected', provider: 'vault', path: 'secret/a', from: 'v2', to: 'v3' },
      ],
    );
    await w.stop();
  });
});

describe('watcher against the Vault dev server', () => {
  const ROOT = 'hvs.WATCH-ROOT-CANARY-0001';
  const SECRET = 'CANARY-watch-vault-value';
  const { logger, lines } = memoryLogger();
  const dev = probeVaultSuite({
    seed: () =>
      parseSeed(
        `
vault:
  mounts:
    kv1: { type: kv, version: 1 }
  kv:
    secret/app/db:
      - { password: ${SECRET}-1 }
      - { password: ${SECRET}-2 }
    secret/app/other: { password: ${SECRET}-other }
    kv1/legacy: { password: ${SECRET}-legacy }
`,
        'watch-vault-seed',
      ),
    rootToken: ROOT,
    secrets: [SECRET, ROOT],
    logger,
    lines,
  });

  function vaultProvider(env: Record<string, string> = {}): Provider {
    return dev.harness(ROOT, env).provider;
  }

  async function writeVersion(path: string, data: Record<string, string>): Promise<void> {
    const res = await fetch(`${dev.server.url}/v1/secret/data/${path}`, {
      method: 'POST',
      headers: { 'x-vault-token': ROOT, 'content-type': 'application/json' },
      body: JSON.stringify({ data }),
    });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
  }

  const dataReads = () =>
    dev.server.log.entries.filter(
      (e) => e.method === 'GET' && (/^\/v1\/secret\/data\//.test(e.path) || e.path === '/v1/kv1/legacy'),
    );

  test('when a KV v2 secret gets a new version then the running watcher reports it, and only metadata is read', async () => {
    const db = doc('vault', 'secret/app/db');
    const pinned = doc('vault', 'secret/app/db', { version: '1' });
    const legacy = doc('vault', 'kv1/legacy');
    const calls: string[][] = [];
    const w = createWatcher({
      registry: registryOf(vaultProvider()),
      documents: [db, pinned, legacy],
      intervalMs: 20,
      unknown: 'ignore',
      onChange: (keys) => calls.push(keys),
      logger,
    });
    const metadataReads = () =>
      dev.server.log.filter({ method: 'GET', path: '/v1/secret/metadata/app/db' }).length;
    w.start();
    await until('the baseline and two more polls ran', () => metadataReads() >= 3);
    assert.deepEqual(calls, [], 'unchanged: nothing reported');
    await writeVersion('app/db', { password: 'rotated' });
    await until('the rotation is reported', () => calls.length > 0);
    const seen = metadataReads();
    await until('two more polls ran', () => metadataReads() >= seen + 2);
    await w.stop();
    assert.deepEqual(calls, [[db.key]], 'reported once; the pinned version never');
    assert.deepEqual(dataReads(), [], 'no secret material was read while watching');
    const after = dev.server.log.entries.length;
    await staysFor(() => dev.server.log.entries.length === after, 'no request after stop', 200);
  });

  test('when Vault answers 503 then the poll is not fatal, reports nothing, and the next rotation is still seen', async () => {
    const db = doc('vault', 'secret/app/other');
    const calls: string[][] = [];
    const errors: string[] = [];
    const w = createWatcher({
      registry: registryOf(vaultProvider({ VAULT_MAX_RETRIES: '0' })),
      documents: [db],
      intervalMs: 60_000,
      onChange: (keys) => calls.push(keys),
      onError: (err) => errors.push(err.code),
      logger,
    });
    assert.deepEqual(await w.checkNow(), []);
    dev.server.faults.set({ failNext: { status: 503, count: 2 } });
    assert.deepEqual(await w.checkNow(), []);
    assert.deepEqual(await w.checkNow(), []);
    assert.deepEqual(errors, ['vault.unavailable', 'vault.unavailable']);
    assert.deepEqual(await w.checkNow(), [], 'the token kept from before the outage still matches');
    await writeVersion('app/other', { password: 'rotated' });
    assert.deepEqual(await w.checkNow(), [db.key]);
    assert.deepEqual(calls, [[db.key]]);
    assert.deepEqual(dataReads(), []);
    await w.stop();
  });
});

describe('watcher against the Secrets Manager dev server', () => {
  const SECRET = 'CANARY-watch-sm-value';
  const V1 = '11111111-1111-4111-8111-111111111111';
  const V2 = '22222222-2222-4222-8222-222222222222';
  let server: SecretsManagerDevServer;
  let admin: SecretsManagerClient;
  let provider: Provider;
  const { logger, lines } = memoryLogger();

  before(async () => {
    const seed = parseSeed(
      `
aws:
  region: us-east-1
  credentials:
    - access_key_id: AKIATESTSECRUNWATCH1
      secret_access_key: test/secret/key/for/watch/tests/00001
  secrets:
    prod/db: { password: ${SECRET} }
    prod/staged:
      versions:
        - { id: ${V1}, value: a-${SECRET}, stages: [AWSPREVIOUS] }
        - { id: ${V2}, value: b-${SECRET}, stages: [AWSCURRENT] }
`,
      'watch-sm-seed',
    );
    server = await startSecretsManagerServer({ seed });
    admin = clientFor(server);
    provider = createSecretsManagerProvider({
      env: awsEnvFor(server),
      logger,
      retry: { maxAttempts: 2, baseMs: 1, capMs: 5 },
    });
  });
  after(async () => {
    await provider.close();
    admin.destroy();
    await server.close();
    assert.ok(!lines.join('').includes(SECRET), 'a secret reached the log');
  });

  test('when values are put, stages moved and a secret deleted then each change is reported in one call per poll', async () => {
    const db = doc('awssm', 'prod/db');
    const current = doc('awssm', 'prod/staged');
    const previous = doc('awssm', 'prod/staged', { 'version-stage': 'AWSPREVIOUS' });
    const pinned = doc('awssm', 'prod/staged', { 'version-id': V1 });
    const calls: string[][] = [];
    const w = createWatcher({
      registry: registryOf(provider),
      documents: [db, current, previous, pinned],
      intervalMs: 60_000,
      onChange: (keys) => calls.push(keys),
      logger,
    });
    assert.deepEqual(await w.checkNow(), []);
    assert.deepEqual(await w.checkNow(), [], 'unchanged: nothing reported');

    await admin.send(new PutSecretValueCommand({ SecretId: 'prod/db', SecretString: 'rotated' }));
    assert.deepEqual(await w.checkNow(), [db.key]);

    await admin.send(
      new UpdateSecretVersionStageCommand({
        SecretId: 'prod/staged',
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: V1,
        RemoveFromVersionId: V2,
      }),
    );
    assert.deepEqual(await w.checkNow(), [current.key, previous.key]);

    await admin.send(new DeleteSecretCommand({ SecretId: 'prod/db', RecoveryWindowInDays: 7 }));
    assert.deepEqual(await w.checkNow(), [db.key]);
    assert.deepEqual(await w.checkNow(), []);
    await w.stop();

    assert.deepEqual(calls, [[db.key], [current.key, previous.key], [db.key]]);
    const reads = server.log.entries.filter(
      (e) => e.operation === 'GetSecretValue' || e.operation === 'BatchGetSecretValue',
    );
    assert.deepEqual(reads, [], 'no secret value was read while watching');
    const probes = server.log.entries.filter((e) => e.operation === 'DescribeSecret');
    assert.equal(probes.length, 6 * 3, 'one DescribeSecret per unpinned document per poll');
  });
});
