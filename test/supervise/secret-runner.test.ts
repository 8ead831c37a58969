import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createAudit } from '../../src/base/audit.ts';
import { createLogger } from '../../src/base/log.ts';
import type { OnChange, Settings, VaultAuthSettings } from '../../src/config/index.ts';
import { type SecretsManagerDevServer, startSecretsManagerServer } from '../../src/dev/aws/server.ts';
import { parseSeed } from '../../src/dev/seed.ts';
import { startVaultServer, type VaultDevServer } from '../../src/dev/vault/server.ts';
import { fdPath } from '../../src/launch/fd-files.ts';
import type { ChildExit } from '../../src/launch/supervisor.ts';
import { createProviderRegistry } from '../../src/providers/registry.ts';
import {
  type NamedTemplate,
  parseRef,
  parseTemplate,
  renderValues,
  templateEntries,
} from '../../src/refs/index.ts';
import { type ResolveEntry, resolveAll } from '../../src/resolve/resolve.ts';
import type { Clock } from '../../src/supervise/lease-schedule.ts';
import {
  changedVariables,
  EXIT_ON_CHANGE,
  planChange,
  SecretRunner,
} from '../../src/supervise/secret-runner.ts';
import { ManualClock } from '../helpers/manual-clock.ts';
import { until, waitFor } from '../helpers/poll.ts';
import { rawRequest } from '../helpers/vault-target.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/print-env-on-start.mjs', import.meta.url));
const READ_FILES = fileURLToPath(new URL('../fixtures/read-files.mjs', import.meta.url));
const NODE = process.execPath;

const canary = (label: string): string => `canary-${label}-${randomBytes(9).toString('hex')}`;

const C = {
  root: `hvs.${canary('root')}`,
  secretId: canary('secretid'),
  longSecretId: canary('longsecretid'),
  restart: canary('restart'),
  signal: canary('signal'),
  exit: canary('exit'),
  ignore: canary('ignore'),
  a: canary('a'),
  b: canary('b'),
  coalesce: canary('coalesce'),
  mask: canary('mask'),
  splay: canary('splay'),
  kv: canary('kv'),
  watch: canary('watch'),
  retry: canary('retry'),
  stripe: canary('stripe'),
  tpl: canary('tpl'),
  file: canary('file'),
};

const SEED = `
vault:
  root_token: ${C.root}
  mounts:
    secret: { type: kv, version: 2 }
    database:
      type: database
      roles:
        renew30: { default_ttl: 30, max_ttl: 600 }
        capped: { default_ttl: 3, max_ttl: 5 }
        app: { default_ttl: 1h, max_ttl: 2h }
        app2: { default_ttl: 1h, max_ttl: 2h }
  kv:
    secret/rot/restart: { key: ${C.restart} }
    secret/rot/signal: { key: ${C.signal} }
    secret/rot/exit: { key: ${C.exit} }
    secret/rot/ignore: { key: ${C.ignore} }
    secret/rot/pair: { a: ${C.a}, b: ${C.b} }
    secret/rot/coalesce: { key: ${C.coalesce} }
    secret/rot/mask: { key: ${C.mask}, short: ab }
    secret/rot/splay: { key: ${C.splay} }
    secret/app/kv: { key: ${C.kv} }
    secret/rot/watch: { key: ${C.watch} }
    secret/rot/retry: { key: ${C.retry} }
  policies:
    app:
      - { path: "secret/data/*", capabilities: [read] }
      - { path: "secret/metadata/*", capabilities: [read] }
      - { path: "database/creds/*", capabilities: [read] }
      - { path: "sys/leases/revoke", capabilities: [update] }
  auth:
    approle:
      type: approle
      roles:
        short:
          role_id: short-role-id
          secret_ids: [${C.secretId}]
          policies: [app]
          token_ttl: 3
          token_max_ttl: 5
        long:
          role_id: long-role-id
          secret_ids: [${C.longSecretId}]
          policies: [app]
          token_ttl: 1h
aws:
  region: eu-west-1
  account_id: "111122223333"
  credentials:
    - { access_key_id: AKIATESTRUNNER000001, secret_access_key: test-runner-secret-key-0000000001 }
  secrets:
    prod/stripe: { api_key: ${C.stripe} }
`;

let server: VaultDevServer;
let sm: SecretsManagerDevServer;
before(async () => {
  const seed = parseSeed(SEED, 'runner-seed');
  server = await startVaultServer({ seed });
  sm = await startSecretsManagerServer({ seed });
});
after(async () => {
  await Promise.all([server?.close(), sm?.close()]);
});

/** Everything any test read or logged, for the value-free checks at the end. */
const allAudit: string[] = [];
const allLogs: string[] = [];
const allValues = new Set<string>();

interface ChildEvent {
  pid: number;
  event: 'start' | 'signal' | 'term';
  env?: Record<string, string | null>;
  signal?: string;
}

interface Started {
  runner: SecretRunner;
  done: Promise<ChildExit>;
  startedAt: number;
  out: () => string;
  events: () => ChildEvent[];
  starts: () => ChildEvent[];
  logs: string[];
  audit: () => Array<Record<string, unknown>>;
  known: Set<string>;
  /** Sends SIGTERM to the current child (the fixture then exits 0). */
  stopChild: () => void;
}

async function start(
  t: TestContext,
  o: {
    refs: Record<string, string>;
    /** Variables built from templates (`postgresql://${vault:...}`). */
    templates?: Record<string, string>;
    onChange?: OnChange;
    perVariable?: Record<string, OnChange>;
    token?: string;
    auth?: VaultAuthSettings;
    mask?: boolean;
    noRevoke?: boolean;
    coalesceMs?: number;
    splayMs?: number;
    random?: () => number;
    clock?: Clock;
    childArgs?: string[];
    watch?: (refresh: (keys: string[]) => void) => () => void;
    /** A Vault server of the test's own (default: the shared one). */
    vault?: VaultDevServer;
  },
): Promise<Started> {
  const logs: string[] = [];
  const logger = createLogger({ level: 'debug', write: (l) => logs.push(l) });
  const env: Record<string, string> = {
    VAULT_ADDR: (o.vault ?? server).url,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.url,
    AWS_REGION: sm.region,
    AWS_ACCESS_KEY_ID: sm.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: sm.credentials.secretAccessKey,
    AWS_CONFIG_FILE: '/nonexistent-aws-config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent-aws-credentials',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  if (!o.auth) env['VAULT_TOKEN'] = o.token ?? C.root;
  else env['APPROLE_SECRET_ID'] = o.auth.roleId === 'long-role-id' ? C.longSecretId : C.secretId;
  const registry = createProviderRegistry({
    env,
    logger,
    homeDir: '/nonexistent-home',
    vault: { maxRetries: 1, retry: { baseMs: 10, capMs: 50 } },
    ...(o.auth ? { vaultAuth: o.auth } : {}),
  });
  const templates: NamedTemplate[] = Object.entries(o.templates ?? {}).map(([variable, text]) => ({
    variable,
    template: parseTemplate(text).template,
  }));
  const entries: ResolveEntry[] = [
    ...Object.entries(o.refs).map(([variable, ref]) => ({ variable, ref: parseRef(ref) })),
    ...templateEntries(templates),
  ];
  const names = [...Object.keys(o.refs), ...Object.keys(o.templates ?? {})];
  const resolution = await resolveAll(entries, [], registry, AbortSignal.timeout(10_000));
  const known = new Set<string>(resolution.values.values());
  const auditLines: string[] = [];
  const audit = createAudit({
    write: (line) => {
      auditLines.push(line);
      allAudit.push(line);
    },
    secrets: () => known,
  });
  let text = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  const settings: Pick<Settings, 'onChange' | 'env' | 'mask' | 'killTimeoutMs' | 'splayMs' | 'revoke'> = {
    onChange: o.onChange ?? { action: 'restart' },
    env: Object.entries({ ...o.refs, ...o.templates }).map(([name, ref]) => {
      const per = o.perVariable?.[name];
      return { name, ref, source: 'config' as const, ...(per ? { onChange: per } : {}) };
    }),
    mask: o.mask ?? false,
    killTimeoutMs: 2000,
    splayMs: o.splayMs ?? 0,
    revoke: !o.noRevoke,
  };
  const runner = new SecretRunner({
    file: NODE,
    argv0: 'node',
    args: [FIXTURE, names.join(','), ...(o.childArgs ?? [])],
    resolution,
    entries,
    imports: [],
    templates,
    buildEnv: (values) => ({
      PATH: path.dirname(NODE),
      ...Object.fromEntries(renderValues(values, templates)),
    }),
    registry,
    settings,
    logger,
    audit,
    isTty: false,
    coalesceMs: o.coalesceMs ?? 100,
    knownSecrets: known,
    outputTo: { stdout: sink, stderr: sink },
    random: o.random ?? (() => 0.5),
    ...(o.clock ? { clock: o.clock } : {}),
    ...(o.watch ? { watch: o.watch } : {}),
  });
  const startedAt = Date.now();
  const done = runner.run();
  const events = (): ChildEvent[] =>
    text
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as ChildEvent);
  const s: Started = {
    runner,
    done,
    startedAt,
    out: () => text,
    events,
    starts: () => events().filter((e) => e.event === 'start'),
    logs,
    audit: () => auditLines.map((l) => JSON.parse(l) as Record<string, unknown>),
    known,
    stopChild: () => {
      const last = s.starts().at(-1);
      if (last) process.kill(last.pid, 'SIGTERM');
    },
  };
  t.after(async () => {
    let finished = false;
    void done.finally(() => {
      finished = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    if (!finished) {
      for (const e of s.starts()) {
        try {
          process.kill(e.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    await done.catch(() => undefined);
    for (const v of known) allValues.add(v);
    allLogs.push(...logs);
  });
  await until('the child to start', () => s.starts().length >= 1);
  return s;
}

const keyOf = (ref: string): string => parseRef(ref).documentKey;
const rotate = async (p: string, data: Record<string, string>): Promise<void> => {
  const r = await rawRequest(server.url, 'POST', `/v1/secret/data/${p}`, { token: C.root, body: { data } });
  assert.equal(r.status, 200, r.text);
};
const logTime = (e: { time: string }): number => Date.parse(e.time);
const lookupLease = async (id: string, vault = server): Promise<number> =>
  (await rawRequest(vault.url, 'POST', '/v1/sys/leases/lookup', { token: C.root, body: { lease_id: id } }))
    .status;

/** A Vault server of the test's own, seeded like the shared one, closed after the test. */
async function ownServer(t: TestContext): Promise<VaultDevServer> {
  const vault = await startVaultServer({ seed: parseSeed(SEED, 'runner-seed') });
  t.after(() => vault.close());
  return vault;
}
const events = (s: Started, name: string) => s.audit().filter((r) => r['event'] === name);

describe('on_change policy (pure)', () => {
  test('when environments differ then the added, removed and changed names are listed, sorted', () => {
    assert.deepEqual(changedVariables({ A: '1', B: '2', C: '3' }, { B: '2', C: '4', D: '5' }), [
      'A',
      'C',
      'D',
    ]);
    assert.deepEqual(changedVariables({ A: '1' }, { A: '1' }), []);
  });

  test('when several variables change then the strongest action wins: exit > restart > signal > ignore', () => {
    const perVariable = new Map<string, OnChange>([
      ['HUP', { action: 'signal', signal: 'SIGHUP' }],
      ['USR', { action: 'signal', signal: 'SIGUSR1' }],
      ['HUP2', { action: 'signal', signal: 'SIGHUP' }],
      ['DIE', { action: 'exit' }],
      ['QUIET', { action: 'ignore' }],
    ]);
    const global: OnChange = { action: 'restart' };
    assert.equal(planChange(['QUIET'], { global, perVariable }).action, 'ignore');
    assert.deepEqual(planChange(['USR', 'HUP', 'HUP2', 'QUIET'], { global, perVariable }), {
      action: 'signal',
      signals: ['SIGUSR1', 'SIGHUP'],
      variables: ['HUP', 'HUP2', 'QUIET', 'USR'],
    });
    assert.equal(planChange(['HUP', 'OTHER'], { global, perVariable }).action, 'restart');
    assert.deepEqual(planChange(['HUP', 'OTHER'], { global, perVariable }).signals, []);
    assert.equal(planChange(['HUP', 'OTHER', 'DIE'], { global, perVariable }).action, 'exit');
    assert.equal(planChange(['OTHER'], { global: { action: 'ignore' }, perVariable }).action, 'ignore');
  });
});

// The two tests that wait on real lease and token lifetimes (a few seconds each) run beside the
// others, each against a Vault server of its own; the rest share one server and its request log.
describe('SecretRunner against the dev Vault server', { concurrency: true }, () => {
  test('when Vault caps a lease then it is read again before it ends, the child restarts with the new credentials and the old lease is revoked', async (t) => {
    const vault = await ownServer(t);
    const s = await start(t, {
      vault,
      refs: {
        DB_USER: 'vault:database/creds/capped#username',
        DB_PASS: 'vault:database/creds/capped#password',
      },
    });
    const firstLease = s.runner.documents()[0]!.lease!.id;
    await until('the restart', () => s.starts().length >= 2);
    const [one, two] = s.starts();
    assert.notEqual(one!.env!['DB_USER'], two!.env!['DB_USER'], 'new credentials');
    assert.notEqual(one!.env!['DB_PASS'], two!.env!['DB_PASS']);
    assert.equal(s.runner.childEnv['DB_USER'], two!.env!['DB_USER']);

    const capped = events(s, 'lease.renew').find((r) => r['capped'] === true);
    assert.ok(capped, 'a capped renewal was recorded');
    assert.ok((capped['warnings'] as string[]).some((w) => w.includes('max_ttl')));
    const expiry = Date.parse(capped['time'] as string) + (capped['ttl'] as number) * 1000;
    const reread = events(s, 'secret.reread')[0]!;
    assert.equal(reread['replacedLeaseId'], firstLease);
    assert.ok(Date.parse(reread['time'] as string) < expiry, 're-read before the capped lease ended');
    const secondStart = events(s, 'child.start')[1]!;
    assert.ok(Date.parse(secondStart['time'] as string) < expiry, 'restarted before the old lease ended');
    assert.equal(events(s, 'child.stop')[0]!['reason'], 'restart');

    await until('the old lease revoked', () =>
      events(s, 'lease.revoke').some((r) => r['leaseId'] === firstLease),
    );
    assert.equal(await lookupLease(firstLease, vault), 400, 'the old lease is gone');
    const newLease = s.runner.documents()[0]!.lease!.id;
    assert.notEqual(newLease, firstLease);
    assert.equal(events(s, 'child.exit').length, 0, 'the deliberate stop is not reported as an exit');

    s.stopChild();
    const exit = await s.done;
    assert.equal(exit.exitCode, 0);
    assert.equal(exit.stopped, false);
    assert.equal(await lookupLease(newLease, vault), 400, 'the new lease is revoked at the end');
  });

  test('when the login token reaches its max TTL then the agent logs in again, re-reads its leases and restarts the child', async (t) => {
    const vault = await ownServer(t);
    const s = await start(t, {
      vault,
      refs: { DB_USER: 'vault:database/creds/app#username' },
      auth: { method: 'approle', roleId: 'short-role-id', secretIdEnv: 'APPROLE_SECRET_ID' },
    });
    // The audit record comes after the client got the answer; the server logs the request before.
    await until('a second login', () => events(s, 'auth.relogin').some((r) => r['ok'] === true));
    assert.equal(vault.log.filter({ path: '/v1/auth/approle/login' }).length, 2);
    assert.ok(
      vault.log.filter({ path: '/v1/auth/token/renew-self' }).length >= 1,
      'renewed before logging in again',
    );
    const relogin = events(s, 'auth.relogin').find((r) => r['ok'] === true)!;
    assert.equal(relogin['method'], 'approle');
    assert.equal(typeof relogin['accessor'], 'string');
    await until('the restart under the new token', () => s.starts().length >= 2);
    const trail = (): string =>
      vault.log.entries.map((e) => `${e.time.slice(17, 23)} ${e.method} ${e.path} ${e.status}`).join('\n');
    assert.equal(vault.log.filter({ path: '/v1/database/creds/app' }).length, 2, trail());
    const [one, two] = s.starts();
    assert.notEqual(one!.env!['DB_USER'], two!.env!['DB_USER']);
    s.stopChild();
    await s.done;
    const paths = vault.log.entries.map((e) => e.path);
    assert.equal(paths.at(-1), '/v1/auth/token/revoke-self', `the login token is revoked last:\n${trail()}`);
  });

  describe('on the shared server, one test at a time', { concurrency: false }, () => {
    test('when a renewable lease is read then it is renewed at about 2/3 of its TTL', async (t) => {
      server.log.clear();
      const clock = new ManualClock();
      const s = await start(t, { refs: { DB_USER: 'vault:database/creds/renew30#username' }, clock });
      // random() is 0.5: no jitter, so the renewal is set for exactly 2/3 of the 30 s lease.
      const timer = await waitFor('the renewal timer', () => clock.pending().find((x) => x.ms === 20_000));
      assert.equal(server.log.filter({ path: '/v1/sys/leases/renew' }).length, 0, 'nothing renewed before');
      clock.fire(timer);
      await until('a lease renewal', () => events(s, 'lease.renew').length >= 1);
      assert.equal(server.log.filter({ path: '/v1/sys/leases/renew' }).length, 1);
      const record = events(s, 'lease.renew')[0]!;
      assert.equal(record['ttl'], 30);
      assert.equal(record['requested'], 30, 'asks for the original duration');
      assert.equal(record['capped'], false);
      s.stopChild();
      const exit = await s.done;
      assert.equal(exit.exitCode, 0);
      assert.equal(s.starts().length, 1);
    });

    test('when the token has a short TTL then it is renewed with renew-self at about 2/3, and a token given by the user is not revoked', async (t) => {
      const created = await rawRequest(server.url, 'POST', '/v1/auth/token/create', {
        token: C.root,
        body: { policies: ['app'], ttl: '300s' },
      });
      const token = created.body.auth.client_token as string;
      allValues.add(token);
      server.log.clear();
      const clock = new ManualClock();
      const s = await start(t, { refs: { KEY: 'vault:secret/app/kv#key' }, token, clock });
      // The keeper schedules from the TTL lookup-self reports (300 s, or a few seconds less by then).
      const timer = await waitFor(
        () => `the token renewal timer (pending: ${clock.pending().map((x) => x.ms)})`,
        () => clock.pending().find((x) => x.ms >= (2 / 3) * 290_000 && x.ms <= (2 / 3) * 300_000),
      );
      assert.equal(server.log.filter({ path: '/v1/auth/token/renew-self' }).length, 0);
      clock.fire(timer);
      await until('a token renewal', () => events(s, 'auth.renew').length >= 1);
      const renew = server.log.filter({ path: '/v1/auth/token/renew-self' })[0]!;
      assert.equal(renew.status, 200);
      assert.equal(events(s, 'auth.renew')[0]!['ok'], true, 'a successful renewal');
      s.stopChild();
      await s.done;
      assert.equal(server.log.filter({ path: '/v1/auth/token/revoke-self' }).length, 0);
    });

    test('when the child exits on its own then it is not restarted, every lease is revoked, then the login token, and its status is passed on', async (t) => {
      server.log.clear();
      const s = await start(t, {
        refs: { DB_USER: 'vault:database/creds/app#username', OTHER: 'vault:database/creds/app2#username' },
        auth: { method: 'approle', roleId: 'long-role-id', secretIdEnv: 'APPROLE_SECRET_ID' },
        childArgs: ['exit:3:300'],
      });
      const leases = s.runner.documents().map((d) => d.lease!.id);
      const exit = await s.done;
      assert.equal(exit.exitCode, 3);
      assert.equal(exit.stopped, false);
      assert.equal(s.starts().length, 1);
      const tail = server.log.entries.slice(-3).map((e) => `${e.path} ${e.status}`);
      assert.deepEqual(tail, [
        '/v1/sys/leases/revoke 204',
        '/v1/sys/leases/revoke 204',
        '/v1/auth/token/revoke-self 204',
      ]);
      for (const id of leases) assert.equal(await lookupLease(id), 400);
      assert.deepEqual(
        events(s, 'lease.revoke')
          .map((r) => r['leaseId'])
          .sort(),
        [...leases].sort(),
      );
      assert.equal(events(s, 'auth.revoke')[0]!['method'], 'approle');
      assert.equal(events(s, 'child.exit')[0]!['exitCode'], 3);
    });

    test('when --no-revoke is set then leases and the login token are left valid', async (t) => {
      server.log.clear();
      const s = await start(t, {
        refs: { DB_USER: 'vault:database/creds/app#username' },
        auth: { method: 'approle', roleId: 'long-role-id', secretIdEnv: 'APPROLE_SECRET_ID' },
        noRevoke: true,
        childArgs: ['exit:0:200'],
      });
      const lease = s.runner.documents()[0]!.lease!.id;
      const exit = await s.done;
      assert.equal(exit.exitCode, 0);
      assert.equal(server.log.filter({ path: '/v1/sys/leases/revoke' }).length, 0);
      assert.equal(server.log.filter({ path: '/v1/auth/token/revoke-self' }).length, 0);
      assert.equal(await lookupLease(lease), 200, 'the lease is still valid');
      assert.ok(s.logs.some((l) => l.includes('--no-revoke')));
    });

    test('when a document used by a template rotates then the template is rebuilt and the dynamic pair is not read again', async (t) => {
      server.log.clear();
      const kv = 'vault:secret/rot/tpl#key';
      await rotate('rot/tpl', { key: C.tpl });
      const s = await start(t, {
        refs: { DB_USER: 'vault:database/creds/app2#username' },
        templates: {
          DATABASE_URL:
            // biome-ignore lint/suspicious/noTemplateCurlyInString: the text shows secrun template syntax
            'postgresql://${vault:database/creds/app2#username}:${vault:database/creds/app2#password | url}@db:5432/app?k=${vault:secret/rot/tpl#key | base64}',
        },
      });
      const first = s.starts()[0]!.env!;
      const user = first['DB_USER'] ?? '';
      assert.match(first['DATABASE_URL'] ?? '', new RegExp(`^postgresql://${user}:[^@]+@db:5432/app\\?k=`));
      assert.ok(first['DATABASE_URL']?.endsWith(Buffer.from(C.tpl).toString('base64')));
      const next = canary('tpl2');
      await rotate('rot/tpl', { key: next });
      await s.runner.refresh([keyOf(kv)]);
      s.known.add(next);
      await until('the restart', () => s.starts().length >= 2);
      const second = s.starts()[1]!.env!;
      assert.ok(second['DATABASE_URL']?.endsWith(Buffer.from(next).toString('base64')));
      assert.equal(second['DB_USER'], user, 'the dynamic credentials were not read again');
      assert.ok(second['DATABASE_URL']?.startsWith(`postgresql://${user}:`));
      assert.equal(server.log.filter({ path: '/v1/database/creds/app2' }).length, 1, 'one read, one lease');
      assert.deepEqual(
        events(s, 'rotation.action').map((r) => [r['action'], r['variables']]),
        [['restart', ['DATABASE_URL']]],
      );
      s.stopChild();
      assert.equal((await s.done).exitCode, 0);
    });

    test('when a secret given as a file rotates then the restarted child reads the new value from a fresh pipe', async (t) => {
      const ref = 'vault:secret/rot/file#key';
      await rotate('rot/file', { key: C.file });
      const logger = createLogger({ level: 'silent', write: () => {} });
      const registry = createProviderRegistry({
        env: { VAULT_ADDR: server.url, VAULT_TOKEN: C.root },
        logger,
        homeDir: '/nonexistent-home',
      });
      const entries: ResolveEntry[] = [{ variable: 'KEY_FILE', ref: parseRef(ref) }];
      const resolution = await resolveAll(entries, [], registry, AbortSignal.timeout(10_000));
      let text = '';
      const sink = new Writable({
        write(chunk: Buffer, _enc, done) {
          text += chunk.toString();
          done();
        },
      });
      const reads = () =>
        text
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as { path: string; head: string; pid?: number });
      const runner = new SecretRunner({
        file: NODE,
        args: [READ_FILES, 'KEY_FILE', 'wait'],
        resolution,
        entries,
        imports: [],
        buildEnv: () => ({ KEY_FILE: fdPath(0) }),
        buildFiles: (values) => [['KEY_FILE', values.get('KEY_FILE') ?? '']],
        registry,
        settings: {
          onChange: { action: 'restart' },
          env: [],
          mask: false,
          killTimeoutMs: 2000,
          splayMs: 0,
          revoke: true,
        },
        logger,
        isTty: false,
        coalesceMs: 50,
        outputTo: { stdout: sink, stderr: sink },
        random: () => 0.5,
      });
      const done = runner.run();
      t.after(() => done.catch(() => undefined));
      await until('the first read', () => reads().length >= 1);
      const next = canary('file2');
      await rotate('rot/file', { key: next });
      await runner.refresh([keyOf(ref)]);
      await until('the restarted child read', () => reads().length >= 2);
      await until('the new value read', () => reads().some((r) => r.head === next));
      const seen = reads().map((r) => [r.path, r.head]);
      assert.deepEqual(seen[0], ['/dev/fd/3', C.file]);
      assert.deepEqual(seen.at(-1), ['/dev/fd/3', next]);
      assert.equal(runner.childEnv['KEY_FILE'], '/dev/fd/3', 'the path is the same, the pipe is new');
      const last = reads().at(-1)?.pid;
      if (last) process.kill(last, 'SIGTERM');
      assert.equal((await done).exitCode, 0);
    });

    test('when a KV v2 secret rotates and on_change is restart then the child restarts with the new value', async (t) => {
      const ref = 'vault:secret/rot/restart#key';
      const s = await start(t, { refs: { KEY: ref } });
      const next = canary('restart2');
      await rotate('rot/restart', { key: next });
      await s.runner.refresh([keyOf(ref)]);
      s.known.add(next);
      await until('the restart', () => s.starts().length >= 2);
      assert.equal(s.starts()[0]!.env!['KEY'], C.restart);
      assert.equal(s.starts()[1]!.env!['KEY'], next);
      assert.deepEqual(
        events(s, 'rotation.action').map((r) => [r['action'], r['variables']]),
        [['restart', ['KEY']]],
      );
      assert.equal(events(s, 'secret.reread')[0]!['version'], 2);
      s.stopChild();
      assert.equal((await s.done).exitCode, 0);
    });

    test('when on_change is signal:SIGHUP then the child gets SIGHUP, keeps running, and the new value waits for the next start', async (t) => {
      const ref = 'vault:secret/rot/signal#key';
      const s = await start(t, { refs: { KEY: ref }, onChange: { action: 'signal', signal: 'SIGHUP' } });
      await rotate('rot/signal', { key: canary('signal2') });
      await s.runner.refresh([keyOf(ref)]);
      await until('SIGHUP', () => s.events().some((e) => e.event === 'signal' && e.signal === 'SIGHUP'));
      assert.equal(s.starts().length, 1);
      assert.equal(s.runner.childEnv['KEY'], C.signal, 'the running child keeps what it started with');
      assert.ok(s.logs.some((l) => l.includes('take effect at its next start')));
      assert.equal(events(s, 'rotation.action')[0]!['action'], 'signal');
      s.stopChild();
      assert.equal((await s.done).exitCode, 0);
    });

    test('when on_change is exit then the child is stopped and the agent ends with the dedicated exit code', async (t) => {
      const ref = 'vault:secret/rot/exit#key';
      const s = await start(t, { refs: { KEY: ref }, onChange: { action: 'exit' } });
      await rotate('rot/exit', { key: canary('exit2') });
      await s.runner.refresh([keyOf(ref)]);
      const exit = await s.done;
      assert.equal(exit.exitCode, EXIT_ON_CHANGE);
      assert.equal(exit.stopped, true);
      assert.equal(s.starts().length, 1);
      assert.ok(
        s.events().some((e) => e.event === 'term'),
        'the child got the stop signal',
      );
      assert.equal(events(s, 'child.stop')[0]!['reason'], 'exit');
      assert.equal(events(s, 'child.exit').length, 0);
    });

    test('when on_change is ignore then the child keeps running untouched and the change is logged', async (t) => {
      const ref = 'vault:secret/rot/ignore#key';
      const s = await start(t, { refs: { KEY: ref }, onChange: { action: 'ignore' } });
      await rotate('rot/ignore', { key: canary('ignore2') });
      await s.runner.refresh([keyOf(ref)]);
      await until('the ignore notice', () => s.logs.some((l) => l.includes('on_change ignore')));
      assert.equal(s.starts().length, 1);
      assert.equal(s.events().filter((e) => e.event !== 'start').length, 0);
      assert.equal(events(s, 'rotation.action')[0]!['action'], 'ignore');
      s.stopChild();
      assert.equal((await s.done).exitCode, 0);
    });

    test('when a document is read again but the environment is the same then nothing happens to the child', async (t) => {
      const ref = 'vault:secret/app/kv#key';
      const s = await start(t, { refs: { KEY: ref } });
      await s.runner.refresh([keyOf(ref), 'vault:unknown-document']);
      assert.equal(events(s, 'secret.reread').length, 1);
      assert.equal(events(s, 'rotation.detected').length, 0);
      assert.equal(events(s, 'rotation.action').length, 0);
      s.stopChild();
      await s.done;
      assert.equal(s.starts().length, 1);
    });

    test('when variables with different policies change together then the strongest policy is applied once', async (t) => {
      const s = await start(t, {
        refs: { A: 'vault:secret/rot/pair#a', B: 'vault:secret/rot/pair#b' },
        onChange: { action: 'ignore' },
        perVariable: { A: { action: 'signal', signal: 'SIGHUP' }, B: { action: 'restart' } },
      });
      await rotate('rot/pair', { a: canary('a2'), b: canary('b2') });
      await s.runner.refresh([keyOf('vault:secret/rot/pair#a')]);
      await until('the restart', () => s.starts().length >= 2);
      assert.equal(s.events().filter((e) => e.event === 'signal').length, 0, 'restart wins over signal');
      assert.deepEqual(events(s, 'rotation.action')[0]!['variables'], ['A', 'B']);
      s.stopChild();
      await s.done;
    });

    test('when changes arrive within the coalescing window then they lead to one restart with the latest values', async (t) => {
      const ref = 'vault:secret/rot/coalesce#key';
      const s = await start(t, { refs: { KEY: ref }, coalesceMs: 1000 });
      const v2 = canary('coalesce2');
      const v3 = canary('coalesce3');
      await rotate('rot/coalesce', { key: v2 });
      await s.runner.refresh([keyOf(ref)]);
      await rotate('rot/coalesce', { key: v3 });
      await s.runner.refresh([keyOf(ref)]);
      s.known.add(v2).add(v3);
      await until('the restart', () => s.starts().length >= 2);
      assert.equal(s.starts()[1]!.env!['KEY'], v3);
      assert.equal(events(s, 'rotation.detected').length, 2);
      assert.equal(events(s, 'rotation.action').length, 1);
      s.stopChild();
      await s.done;
      assert.equal(s.starts().length, 2);
    });

    test('when --splay is set then the action waits a random delay up to it', async (t) => {
      const ref = 'vault:secret/rot/splay#key';
      const s = await start(t, { refs: { KEY: ref }, coalesceMs: 0, splayMs: 800, random: () => 1 });
      await rotate('rot/splay', { key: canary('splay2') });
      const asked = Date.now();
      await s.runner.refresh([keyOf(ref)]);
      await until('the restart', () => s.starts().length >= 2);
      const restarted = Date.parse(events(s, 'child.stop')[0]!['time'] as string);
      assert.ok(restarted - asked >= 700, `acted ${restarted - asked} ms after the change`);
      s.stopChild();
      await s.done;
    });

    test('when a Secrets Manager secret rotates then the re-read goes through its provider and the child restarts', async (t) => {
      const ref = 'awssm:prod/stripe#api_key';
      const s = await start(t, { refs: { STRIPE: ref } });
      const next = canary('stripe2');
      s.known.add(next);
      const client = new SecretsManagerClient({
        endpoint: sm.url,
        region: sm.region,
        credentials: sm.credentials,
        maxAttempts: 1,
      });
      t.after(() => client.destroy());
      await client.send(
        new PutSecretValueCommand({
          SecretId: 'prod/stripe',
          SecretString: JSON.stringify({ api_key: next }),
        }),
      );
      await s.runner.refresh([keyOf(ref)]);
      await until('the restart', () => s.starts().length >= 2);
      assert.equal(s.starts()[0]!.env!['STRIPE'], C.stripe);
      assert.equal(s.starts()[1]!.env!['STRIPE'], next);
      const reread = events(s, 'secret.reread')[0]!;
      assert.equal(reread['provider'], 'awssm');
      assert.equal(typeof reread['version'], 'string');
      s.stopChild();
      await s.done;
    });

    test('when a watcher is connected then its reports re-read documents, and it is stopped before anything is revoked', async (t) => {
      const ref = 'vault:secret/rot/watch#key';
      let report: ((keys: string[]) => void) | undefined;
      let stoppedAt = 0;
      const s = await start(t, {
        refs: { KEY: ref, DB_USER: 'vault:database/creds/app#username' },
        watch: (refresh) => {
          report = refresh;
          return () => {
            stoppedAt = Date.now();
          };
        },
      });
      assert.ok(report, 'the watcher was started with a refresh function');
      const next = canary('watch2');
      s.known.add(next);
      await rotate('rot/watch', { key: next });
      report([keyOf(ref)]);
      await until('the restart', () => s.starts().length >= 2);
      assert.equal(s.starts()[1]!.env!['KEY'], next);
      assert.equal(events(s, 'rotation.detected')[0]!['reason'], 'watch');
      server.log.clear();
      s.stopChild();
      await s.done;
      assert.ok(stoppedAt > 0, 'the watcher was stopped');
      const revoke = server.log.filter({ path: '/v1/sys/leases/revoke' })[0]!;
      assert.ok(logTime(revoke) >= stoppedAt - 5, 'revocation comes after the watcher stopped');
    });

    test('when a re-read fails then it is retried with backoff and applied once it succeeds', async (t) => {
      const ref = 'vault:secret/rot/retry#key';
      const s = await start(t, { refs: { KEY: ref } });
      const next = canary('retry2');
      s.known.add(next);
      await rotate('rot/retry', { key: next });
      server.faults.set({ failNext: { status: 503, count: 2 } });
      await s.runner.refresh([keyOf(ref)]);
      const failed = events(s, 'secret.reread')[0]!;
      assert.equal(failed['ok'], false);
      assert.equal(failed['code'], 'vault.unavailable');
      assert.equal(s.starts().length, 1);
      await until('the restart after the retry', () => s.starts().length >= 2);
      assert.equal(s.starts()[1]!.env!['KEY'], next);
      assert.ok(s.logs.some((l) => l.includes('could not read secrets again; retrying')));
      s.stopChild();
      await s.done;
    });

    test('when masking is on then values the child prints come out as <redacted:NAME>, also after a restart, and short values are reported once', async (t) => {
      const ref = 'vault:secret/rot/mask#key';
      const s = await start(t, { refs: { KEY: ref, SHORT: 'vault:secret/rot/mask#short' }, mask: true });
      const next = canary('mask2');
      await rotate('rot/mask', { key: next, short: 'ab' });
      await s.runner.refresh([keyOf(ref)]);
      await until('the restart', () => s.starts().length >= 2);
      s.stopChild();
      await s.done;
      const out = s.out();
      assert.equal(s.starts().length, 2);
      assert.ok(!out.includes(C.mask), 'the first value is masked');
      assert.ok(!out.includes(next), 'the new value is masked after the restart');
      assert.equal(out.split('<redacted:KEY>').length - 1, 2);
      assert.equal(s.logs.filter((l) => l.includes('not masking SHORT')).length, 1);
    });
  });
});

describe('SecretRunner audit', () => {
  test('when everything above ran then the audit records were complete and never held a value, token or secret id', () => {
    const records = allAudit.map((l) => JSON.parse(l) as Record<string, unknown>);
    const seen = new Set(records.map((r) => r['event']));
    for (const e of [
      'child.start',
      'child.stop',
      'child.exit',
      'lease.renew',
      'lease.revoke',
      'secret.reread',
      'rotation.detected',
      'rotation.action',
      'auth.renew',
      'auth.relogin',
      'auth.revoke',
    ]) {
      assert.ok(seen.has(e), `an audit record ${e}`);
    }
    const secrets = [...allValues, ...Object.values(C)].filter((v) => v.length >= 4);
    assert.ok(secrets.length > 20);
    for (const line of [...allAudit, ...allLogs]) {
      assert.ok(!line.includes('<redacted>'), `the redaction backstop had to act: ${line}`);
      for (const v of secrets) assert.ok(!line.includes(v), `a value leaked: ${line}`);
    }
  });
});
