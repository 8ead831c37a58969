import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createAudit } from '../../src/base/audit.ts';
import { createLogger } from '../../src/base/log.ts';
import type { OnChange } from '../../src/config/index.ts';
import { parseSeed } from '../../src/dev/seed.ts';
import { startVaultServer, type VaultDevServer } from '../../src/dev/vault/server.ts';
import { createProviderRegistry } from '../../src/providers/registry.ts';
import { parseRef } from '../../src/refs/index.ts';
import { type ResolveEntry, resolveAll } from '../../src/resolve/resolve.ts';
import type { Clock } from '../../src/supervise/lease-schedule.ts';
import { SecretRunner } from '../../src/supervise/secret-runner.ts';
import { opensslVerify, pkiSeedYaml } from '../helpers/pki.ts';
import { rawRequest } from '../helpers/vault-target.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/print-env-on-start.mjs', import.meta.url));
const NODE = process.execPath;
const HOUR = 3_600_000;

/** Within the second a certificate's notAfter is truncated to. */
const assertAbout = (actual: number, expected: number): void =>
  assert.ok(Math.abs(actual - expected) <= 1000, `${actual} is not about ${expected}`);

/**
 * A clock whose time only moves when the test says so: timers of a minute or more wait for
 * {@link advance}; shorter ones (coalescing, retries) run on real time, so the run proceeds.
 */
function testClock(start: number) {
  let now = start;
  const pending = new Set<{ at: number; fn: () => void }>();
  const clock: Clock = {
    now: () => now,
    setTimeout: (fn, ms) => {
      if (ms < 60_000) return setTimeout(fn, ms);
      const t = { at: now + ms, fn };
      pending.add(t);
      return t;
    },
    clearTimeout: (h) => {
      if (pending.has(h as { at: number; fn: () => void }))
        pending.delete(h as { at: number; fn: () => void });
      else clearTimeout(h as NodeJS.Timeout);
    },
  };
  return {
    clock,
    now: () => now,
    /** Delays of the long timers waiting, from now (ms). */
    waiting: () => [...pending].map((t) => t.at - now).sort((a, b) => a - b),
    /** Moves time to `to` and runs the long timers due by then. */
    advance(to: number) {
      now = to;
      for (const t of [...pending].sort((a, b) => a.at - b.at)) {
        if (t.at <= now) {
          pending.delete(t);
          t.fn();
        }
      }
    },
  };
}

async function waitUntil(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

interface ChildEvent {
  pid: number;
  event: string;
  env?: Record<string, string | null>;
  signal?: string;
}

describe('SecretRunner: certificates issued at boot are issued again before they expire', () => {
  const t0 = Date.now();
  const time = testClock(t0);
  let server: VaultDevServer;
  before(async () => {
    server = await startVaultServer({
      seed: parseSeed(pkiSeedYaml({ ttl: '3h', maxTtl: '24h', generateLease: true })),
      now: time.now,
    });
  });
  after(() => server.close());

  async function start(t: TestContext, refs: Record<string, string>, onChange: OnChange) {
    const logs: string[] = [];
    const logger = createLogger({ level: 'debug', write: (l) => logs.push(l) });
    const registry = createProviderRegistry({
      env: { VAULT_ADDR: server.url, VAULT_TOKEN: server.rootToken },
      logger,
      homeDir: '/nonexistent-home',
      vault: { maxRetries: 1, retry: { baseMs: 10, capMs: 50 } },
    });
    const entries: ResolveEntry[] = Object.entries(refs).map(([variable, ref]) => ({
      variable,
      ref: parseRef(ref),
    }));
    const resolution = await resolveAll(entries, [], registry, AbortSignal.timeout(20_000));
    const audit: Record<string, unknown>[] = [];
    let text = '';
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        text += chunk.toString();
        done();
      },
    });
    const runner = new SecretRunner({
      file: NODE,
      argv0: 'node',
      args: [FIXTURE, Object.keys(refs).join(',')],
      resolution,
      entries,
      imports: [],
      buildEnv: (values) => ({ PATH: path.dirname(NODE), ...Object.fromEntries(values) }),
      registry,
      settings: {
        onChange,
        env: Object.entries(refs).map(([name, ref]) => ({ name, ref, source: 'config' as const })),
        mask: false,
        killTimeoutMs: 2000,
        splayMs: 0,
        revoke: true,
      },
      logger,
      audit: createAudit({ write: (l) => audit.push(JSON.parse(l)), secrets: () => new Set() }),
      isTty: false,
      coalesceMs: 50,
      outputTo: { stdout: sink, stderr: sink },
      clock: time.clock,
      random: () => 0.5,
    });
    const done = runner.run();
    const events = (): ChildEvent[] =>
      text
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as ChildEvent);
    const starts = () => events().filter((e) => e.event === 'start');
    t.after(async () => {
      for (const e of starts()) {
        try {
          process.kill(e.pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      await done.catch(() => undefined);
    });
    await waitUntil('the child to start', () => starts().length >= 1);
    return { runner, done, events, starts, logs, audit };
  }

  test('when the certificate reaches 2/3 of its lifetime then a new one is issued, the child restarts with it, and the old lease is revoked', async (t) => {
    const ref = 'vault:pki/issue/web?common_name=api.example.com&ttl=3h';
    const s = await start(
      t,
      { TLS_CERT: `${ref}#certificate`, TLS_KEY: `${ref}#private_key`, CA: `${ref}#issuing_ca` },
      { action: 'restart' },
    );
    const first = s.starts()[0]?.env ?? {};
    const firstCert = new X509Certificate(first['TLS_CERT'] ?? '');
    assert.ok(
      firstCert.checkPrivateKey((await import('node:crypto')).createPrivateKey(first['TLS_KEY'] ?? '')),
    );
    assert.ok(opensslVerify(first['CA'] ?? '', first['TLS_CERT'] ?? '').ok);
    const firstLease = s.runner.documents()[0]?.lease?.id ?? '';
    assert.match(firstLease, /^pki\/issue\/web\//);

    // random 0.5: exactly 2/3 of the 3 h the certificate has left, i.e. 2 h (the lease's own
    // non-renewable re-read would come later, at 80-90 %).
    // (notAfter has whole seconds: up to a second less than 3 h.)
    const reissueAt = time.waiting()[0] ?? 0;
    assertAbout(reissueAt, 2 * HOUR);
    time.advance(t0 + reissueAt - 1000);
    assert.equal(s.starts().length, 1, 'nothing happens before 2/3 of the lifetime');
    time.advance(t0 + reissueAt);

    await waitUntil('the restart with a new certificate', () => s.starts().length >= 2);
    const second = s.starts()[1]?.env ?? {};
    const secondCert = new X509Certificate(second['TLS_CERT'] ?? '');
    assert.notEqual(secondCert.serialNumber, firstCert.serialNumber);
    assert.ok(
      secondCert.checkPrivateKey((await import('node:crypto')).createPrivateKey(second['TLS_KEY'] ?? '')),
    );
    const verdict = opensslVerify(second['CA'] ?? '', second['TLS_CERT'] ?? '', undefined, time.now());
    assert.ok(verdict.ok, verdict.text);
    assert.ok(time.now() < new Date(firstCert.validTo).getTime(), 'issued again before the old one expired');
    assertAbout(new Date(secondCert.validTo).getTime() - new Date(firstCert.validTo).getTime(), 2 * HOUR);

    await waitUntil('the old lease to be revoked', () =>
      s.audit.some((r) => r['event'] === 'lease.revoke' && r['leaseId'] === firstLease && r['ok'] === true),
    );
    const action = s.audit.find((r) => r['event'] === 'rotation.action');
    assert.equal(action?.['reason'], 'certificate expiring');
    // The next issue is scheduled from the new certificate: 2/3 of its 3 h.
    assertAbout(time.waiting()[0] ?? 0, 2 * HOUR);

    const secondLease = s.runner.documents()[0]?.lease?.id ?? '';
    process.kill(s.starts()[1]?.pid ?? 0, 'SIGTERM');
    await s.done;
    const lookup = await rawRequest(server.url, 'POST', '/v1/sys/leases/lookup', {
      token: server.rootToken,
      body: { lease_id: secondLease },
    });
    assert.notEqual(lookup.status, 200, 'the lease of the last certificate is revoked at exit');
  });

  test('when on_change is a signal then the child gets it for a new certificate and keeps running', async (t) => {
    const base = time.now();
    const ref = 'vault:pki/sign/web?common_name=svc.example.com&ttl=3h';
    const s = await start(
      t,
      { TLS_CERT: `${ref}#certificate`, TLS_KEY: `${ref}#private_key` },
      { action: 'signal', signal: 'SIGHUP' },
    );
    const reissueAt = time.waiting()[0] ?? 0;
    assertAbout(reissueAt, 2 * HOUR);
    time.advance(base + reissueAt);
    await waitUntil('SIGHUP', () => s.events().some((e) => e.event === 'signal' && e.signal === 'SIGHUP'));
    assert.equal(s.starts().length, 1);
    process.kill(s.starts()[0]?.pid ?? 0, 'SIGTERM');
    await s.done;
  });
});
