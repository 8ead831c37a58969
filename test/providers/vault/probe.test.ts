import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SecrunError } from '../../../src/base/errors.ts';
import { createLogger, silentLogger } from '../../../src/base/log.ts';
import { parseSeed } from '../../../src/dev/seed.ts';
import { DELETED_TOKEN, documentToken, PINNED_TOKEN } from '../../../src/providers/fingerprint.ts';
import type { DocumentRequest } from '../../../src/providers/provider.ts';
import { kvV2MetadataPath, metadataToken } from '../../../src/providers/vault/probe.ts';
import { createVaultProvider } from '../../../src/providers/vault/provider.ts';
import { documentKeyOf } from '../../../src/refs/index.ts';
import { probeVaultSuite } from '../../helpers/probe-providers.ts';
import { vaultMountsYaml } from '../../helpers/seed-yaml.ts';

const ROOT = 'hvs.PROBE-ROOT-CANARY-0001';
const VALUES = ['CANARY-probe-one', 'CANARY-probe-two', 'CANARY-probe-three', 'CANARY-probe-legacy'];

const seedYaml = `
vault:
${vaultMountsYaml({ kv1: 1 })}
  kv:
    secret/app/db:
      - { password: ${VALUES[0]} }
      - { password: ${VALUES[1]} }
    secret/app/gone: { password: ${VALUES[2]} }
    secret/app/undone: { password: ${VALUES[2]} }
    secret/app/erased: { password: ${VALUES[2]} }
    kv1/legacy: { password: ${VALUES[3]} }
  policies:
    data-only:
      - { path: "secret/data/app/db", capabilities: [read] }
  tokens:
    - { id: hvs.PROBE-DATA-ONLY, policies: [data-only], ttl: 1h }
`;

/** The Vault provider gains `probe` in its own change; until then its test is skipped. */
const vaultHasProbe = await (async () => {
  const p = createVaultProvider({
    env: { VAULT_ADDR: 'http://127.0.0.1:1' },
    logger: silentLogger,
    homeDir: '/',
  });
  await p.close();
  return typeof p.probe === 'function';
})();

const lines: string[] = [];
const logger = createLogger({ level: 'debug', write: (l) => lines.push(l) });
let home: string;
const dev = probeVaultSuite({
  seed: () => parseSeed(seedYaml, 'vault-probe-seed'),
  rootToken: ROOT,
  secrets: [ROOT, ...VALUES],
  logger,
  lines,
});
const harness = dev.harness;

function docReq(path: string, options: Record<string, string> = {}): DocumentRequest {
  return { scheme: 'vault', path, options, key: documentKeyOf('vault', path, options) };
}

const signal = () => AbortSignal.timeout(10_000);

async function vaultApi(method: string, path: string, body?: unknown): Promise<number> {
  const res = await fetch(`${dev.server.url}/v1/${path}`, {
    method,
    headers: { 'x-vault-token': ROOT, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  await res.arrayBuffer();
  return res.status;
}

/** GETs of secret material (KV data, dynamic credentials) in the request log. */
const secretReads = () =>
  dev.server.log.entries.filter(
    (e) => e.method === 'GET' && /^\/v1\/(secret\/data|database\/creds|kv1\/legacy)\b/.test(e.path),
  );

before(() => {
  home = mkdtempSync(join(tmpdir(), 'secrun-vault-probe-'));
});
after(() => rmSync(home, { recursive: true, force: true }));

describe('Vault probe against the dev server', () => {
  test('when a KV v2 secret gets a new version then the token changes, and only metadata is read', async () => {
    const { probe } = harness();
    const req = docReq('secret/app/db');
    const first = await probe(req, signal());
    assert.match(first ?? '', /^v2@\d+$/);
    assert.equal(await probe(req, signal()), first, 'an unchanged secret keeps its token');
    assert.equal(await vaultApi('POST', 'secret/data/app/db', { data: { password: 'rotated-value' } }), 200);
    const second = await probe(req, signal());
    assert.match(second ?? '', /^v3@\d+$/);
    assert.notEqual(second, first);
    assert.deepEqual(secretReads(), []);
    const metadata = dev.server.log.filter({ method: 'GET', path: '/v1/secret/metadata/app/db' });
    assert.equal(metadata.length, 3);
  });

  test('when the API-style path is probed then it reads the same metadata and gives the same token', async () => {
    const { probe } = harness();
    const a = await probe(docReq('secret/app/db'), signal());
    const b = await probe(docReq('secret/data/app/db'), signal());
    assert.equal(b, a);
    assert.equal(dev.server.log.filter({ path: '/v1/secret/metadata/app/db' }).length, 2);
    assert.equal(dev.server.log.filter({ path: /^\/v1\/secret\/metadata\/data/ }).length, 0);
  });

  test('when the boot read and the probe see the same version then their tokens are equal', async () => {
    const p = createVaultProvider({
      env: { VAULT_ADDR: dev.server.url, VAULT_TOKEN: ROOT },
      logger,
      homeDir: home,
    });
    try {
      const req = docReq('secret/app/db');
      const read = (await p.readAll([req], signal())).get(req.key);
      assert.ok(read?.ok, 'boot read failed');
      const boot = documentToken(req, read.doc);
      assert.ok(boot);
      assert.equal(await harness().probe(req, signal()), boot);
    } finally {
      await p.close();
    }
  });

  test('when the Vault provider exposes probe then it authenticates and answers like the standalone probe', {
    skip: vaultHasProbe ? false : 'vault.ts has no probe yet',
  }, async () => {
    const p = createVaultProvider({
      env: { VAULT_ADDR: dev.server.url, VAULT_TOKEN: ROOT },
      logger,
      homeDir: home,
    });
    try {
      assert.ok(p.probe);
      const req = docReq('secret/app/db');
      const token = await p.probe(req, signal());
      assert.equal(token, await harness().probe(req, signal()));
      assert.equal(await p.probe(docReq('kv1/legacy'), signal()), undefined);
      assert.deepEqual(secretReads(), []);
    } finally {
      await p.close();
    }
  });

  test('when a version is pinned then the token is constant and nothing is requested', async () => {
    const { probe } = harness();
    assert.equal(await probe(docReq('secret/app/db', { version: '1' }), signal()), PINNED_TOKEN);
    assert.equal(dev.server.log.entries.length, 0);
    const latest = await probe(docReq('secret/app/db', { version: '0' }), signal());
    assert.match(latest ?? '', /^v\d+@/, 'version=0 means the latest: it is watched');
  });

  test('when the secret is KV v1 or dynamic then the probe cannot tell, and reads nothing', async () => {
    const { probe } = harness();
    assert.equal(await probe(docReq('kv1/legacy'), signal()), undefined);
    assert.equal(await probe(docReq('database/creds/app'), signal()), undefined);
    assert.deepEqual(secretReads(), []);
    assert.ok(dev.server.log.entries.every((e) => e.path.startsWith('/v1/sys/internal/ui/mounts/')));
  });

  test('when the current version is deleted, undeleted or its metadata erased then the token follows', async () => {
    const { probe } = harness();
    const gone = docReq('secret/app/gone');
    const live = await probe(gone, signal());
    assert.equal(await vaultApi('DELETE', 'secret/data/app/gone'), 204);
    assert.equal(await probe(gone, signal()), DELETED_TOKEN);
    assert.equal(await vaultApi('POST', 'secret/undelete/app/gone', { versions: [1] }), 204);
    assert.equal(await probe(gone, signal()), live);
    assert.equal(await vaultApi('POST', 'secret/destroy/app/gone', { versions: [1] }), 204);
    assert.equal(await probe(gone, signal()), DELETED_TOKEN);

    const erased = docReq('secret/app/erased');
    assert.match((await probe(erased, signal())) ?? '', /^v1@/);
    assert.equal(await vaultApi('DELETE', 'secret/metadata/app/erased'), 204);
    assert.equal(await probe(erased, signal()), DELETED_TOKEN);
    assert.deepEqual(secretReads(), []);
  });

  test('when the token may read the data but not the metadata then the probe answers undefined once and stops asking', async () => {
    const before = lines.length;
    const { probe } = harness('hvs.PROBE-DATA-ONLY');
    const req = docReq('secret/app/db');
    assert.equal(await probe(req, signal()), undefined);
    assert.equal(await probe(req, signal()), undefined);
    assert.equal(dev.server.log.filter({ path: '/v1/secret/metadata/app/db' }).length, 1);
    const logged = lines.slice(before).filter((l) => l.includes('no read permission on KV v2 metadata'));
    assert.equal(logged.length, 1);
    assert.match(logged[0] ?? '', /^secrun: warn: /);
  });

  test('when Vault keeps answering 503 then the probe rejects with a typed error', async () => {
    const { probe } = harness(ROOT, { VAULT_MAX_RETRIES: '1' });
    await probe(docReq('secret/app/db'), signal()); // the preflight is cached from here on
    dev.server.faults.set({ failNext: { status: 503, count: 2 } });
    const err = await probe(docReq('secret/app/db'), signal()).then(
      () => assert.fail('expected a rejection'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof SecrunError);
    assert.equal(err.code, 'vault.unavailable');
    assert.equal(dev.server.log.entries.filter((e) => e.status === 503).length, 2);
  });
});

describe('Vault probe helpers', () => {
  test('when a path is given in either style then the metadata path is the same', () => {
    assert.equal(kvV2MetadataPath('secret', 'secret/app/db'), 'secret/metadata/app/db');
    assert.equal(kvV2MetadataPath('secret', 'secret/data/app/db'), 'secret/metadata/app/db');
    assert.equal(kvV2MetadataPath('team/kv', 'team/kv/x'), 'team/kv/metadata/x');
  });

  test('when metadata shows a deletion in the future then the version still counts as live', () => {
    const md = (deletion: string) => ({
      current_version: 4,
      versions: { '4': { created_time: '2026-01-01T00:00:00.123456789Z', deletion_time: deletion } },
    });
    const now = Date.parse('2026-06-01T00:00:00Z');
    assert.equal(metadataToken(md(''), now), `v4@${Date.parse('2026-01-01T00:00:00.123Z')}`);
    assert.equal(metadataToken(md('2027-01-01T00:00:00Z'), now), metadataToken(md(''), now));
    assert.equal(metadataToken(md('2026-02-01T00:00:00Z'), now), DELETED_TOKEN);
    assert.equal(metadataToken({ current_version: 0, versions: {} }, now), DELETED_TOKEN);
    assert.equal(metadataToken(null, now), DELETED_TOKEN);
  });
});
