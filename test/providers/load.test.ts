import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { MAX_CONCURRENT_REQUESTS } from '../../src/base/limit.ts';
import { createLogger } from '../../src/base/log.ts';
import { type SecretsManagerDevServer, startSecretsManagerServer } from '../../src/dev/aws/server.ts';
import { parseSeed } from '../../src/dev/seed.ts';
import { startVaultServer, type VaultDevServer } from '../../src/dev/vault/server.ts';
import { createSecretsManagerProvider } from '../../src/providers/aws/provider.ts';
import type { DocumentRequest, DocumentResult } from '../../src/providers/provider.ts';
import { createVaultProvider } from '../../src/providers/vault/provider.ts';
import { vaultMountsYaml } from '../helpers/seed-yaml.ts';

// The load one agent puts on a server is bounded: connections are reused and at most
// MAX_CONCURRENT_REQUESTS requests per provider are in flight, however many documents there are;
// and a response is bounded by what the service can return.

const ROOT = 'hvs.load-root-token';
const N = 1000;
let vault: VaultDevServer;
let aws: SecretsManagerDevServer;
const logger = createLogger({ level: 'silent' });

before(async () => {
  const kv = Array.from({ length: N }, (_, i) => `    kv1/s${i}: { v: "${i}" }`).join('\n');
  const secrets = Array.from({ length: 100 }, (_, i) => `    prod/s${i}: "${i}"`).join('\n');
  const seed = parseSeed(
    `
vault:
  root_token: ${ROOT}
${vaultMountsYaml({ kv1: 1 })}
  kv:
${kv}
aws:
  region: eu-west-1
  account_id: "111122223333"
  credentials:
    - { access_key_id: AKIATESTLOAD00000001, secret_access_key: test-load-secret-key-00000000001 }
  secrets:
${secrets}
`,
    'load-seed',
  );
  vault = await startVaultServer({ seed });
  aws = await startSecretsManagerServer({ seed });
});
after(async () => {
  await Promise.all([vault.close(), aws.close()]);
});

function req(scheme: 'vault' | 'awssm', path: string, options: Record<string, string> = {}): DocumentRequest {
  const q = Object.entries(options)
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  return { scheme, path, options, key: `${scheme}:${path}${q ? `?${q}` : ''}` };
}

const okCount = (m: Map<string, DocumentResult>) => [...m.values()].filter((r) => r.ok).length;

describe('load on a server', () => {
  test(`when ${N} Vault documents are read at once then at most ${MAX_CONCURRENT_REQUESTS} requests are in flight`, async () => {
    const p = createVaultProvider({
      env: { VAULT_ADDR: vault.url, VAULT_TOKEN: ROOT },
      logger,
      homeDir: '/nonexistent-home',
    });
    vault.faults.set({ latencyMs: 5 });
    vault.faults.resetStats();
    try {
      const reqs = Array.from({ length: N }, (_, i) => req('vault', `kv1/s${i}`));
      const out = await p.readAll(reqs, AbortSignal.timeout(60_000));
      assert.equal(okCount(out), N);
      const peak = vault.faults.stats.peakInFlight;
      assert.ok(peak <= MAX_CONCURRENT_REQUESTS, `peak in flight ${peak}`);
      assert.ok(peak >= 2, `requests still run in parallel (peak ${peak})`);
    } finally {
      vault.faults.clear();
      await p.close();
    }
  });

  test('when 100 pinned Secrets Manager documents are read at once then the requests in flight are capped too', async () => {
    const p = createSecretsManagerProvider({
      env: { AWS_ENDPOINT_URL_SECRETS_MANAGER: aws.url, AWS_REGION: aws.region },
      credentials: aws.credentials,
      logger,
    });
    aws.faults.set({ latencyMs: 5 });
    aws.faults.resetStats();
    try {
      const reqs = Array.from({ length: 100 }, (_, i) =>
        req('awssm', `prod/s${i}`, { 'version-stage': 'AWSCURRENT' }),
      );
      const out = await p.readAll(reqs, AbortSignal.timeout(60_000));
      assert.equal(okCount(out), 100);
      const peak = aws.faults.stats.peakInFlight;
      assert.ok(peak <= MAX_CONCURRENT_REQUESTS, `peak in flight ${peak}`);
    } finally {
      aws.faults.clear();
      await p.close?.();
    }
  });
});

describe('bounded responses', () => {
  let server: Server;
  let written = 0;
  let url = '';
  const TOTAL = 200 * 1024 * 1024;
  before(async () => {
    // An endpoint that answers 200 with a 200 MB body, streamed (never held in memory here).
    server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      const chunk = Buffer.alloc(64 * 1024, 'a');
      res.write('{"Name":"prod/x","SecretString":"');
      const pump = () => {
        while (written < TOTAL) {
          written += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end('"}');
      };
      res.on('close', () => res.removeAllListeners('drain'));
      pump();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  test('when Secrets Manager sends a 200 MB body then the read fails clearly long before it is all read', async () => {
    const p = createSecretsManagerProvider({
      env: { AWS_ENDPOINT_URL_SECRETS_MANAGER: url, AWS_REGION: 'eu-west-1' },
      credentials: { accessKeyId: 'AKIATESTLOAD00000001', secretAccessKey: 'x' },
      logger,
    });
    const r = req('awssm', 'prod/x', { 'version-stage': 'AWSCURRENT' });
    const rss = process.memoryUsage().rss;
    try {
      const out = (await p.readAll([r], AbortSignal.timeout(30_000))).get(r.key);
      assert.ok(out && !out.ok, 'the read fails');
      assert.equal(out.error.code, 'awssm.responseTooLarge', out.error.message);
      assert.match(out.error.message, /larger than a Secrets Manager answer can be \(over 8 MiB\)/);
      assert.ok(written < TOTAL / 4, `the server could write ${written} bytes`);
      assert.ok(process.memoryUsage().rss - rss < 100 * 1024 * 1024, 'memory stays bounded');
    } finally {
      await p.close?.();
    }
  });
});
