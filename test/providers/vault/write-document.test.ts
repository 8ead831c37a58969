import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { VaultClient, VaultRequest } from '../../../src/providers/vault/client.ts';
import { writeDocument } from '../../../src/providers/vault/write-document.ts';

/** A client that records each request and answers with `answer`. */
function fakeClient(answer: unknown): Pick<VaultClient, 'request'> & { sent: VaultRequest[] } {
  const sent: VaultRequest[] = [];
  return {
    sent,
    request: async (req: VaultRequest) => {
      sent.push(req);
      return answer as Awaited<ReturnType<VaultClient['request']>>;
    },
  };
}

const req = (path: string, write: Record<string, string>) => ({
  scheme: 'vault' as const,
  path,
  options: {},
  key: `vault:${path}?!write`,
  write,
});
const signal = AbortSignal.timeout(30_000);

describe('writeDocument', () => {
  test('when a credential endpoint is written then one POST carries the params and the answer data and lease are the document', async () => {
    const client = fakeClient({
      data: { access_key: 'ASIAEXAMPLE', secret_key: 's' },
      lease_id: 'aws/sts/deploy/abc',
      lease_duration: 900,
      renewable: false,
    });
    const doc = await writeDocument(
      client,
      req('aws/sts/deploy', { ttl: '15m' }),
      'aws/sts/deploy',
      { path: 'aws', type: 'aws' },
      signal,
    );
    assert.deepEqual(
      client.sent.map((r) => [r.method, r.path, r.body]),
      [['POST', 'aws/sts/deploy', { ttl: '15m' }]],
    );
    assert.deepEqual(doc.value, { access_key: 'ASIAEXAMPLE', secret_key: 's' });
    assert.deepEqual(doc.lease, { id: 'aws/sts/deploy/abc', duration: 900, renewable: false });
  });

  test('when the path is on a KV mount, under sys/, a PKI issue path, or the mount is unknown then nothing is sent', async () => {
    const cases: Array<[string, { path: string; type: string; kvVersion?: 1 | 2 } | null, RegExp]> = [
      ['kv1/app', { path: 'kv1', type: 'kv', kvVersion: 1 }, /kv mount would change what Vault stores/],
      ['sys/policies/acl/x', { path: 'sys', type: 'system' }, /system mount/],
      ['pki/issue/web', { path: 'pki', type: 'pki' }, /put their parameters in the reference/],
      ['aws/sts/deploy', null, /mounts preflight for it found no mount or was denied/],
      [
        'pki/roles/web',
        { path: 'pki', type: 'pki' },
        /roles\/ of a pki mount is where the engine is configured/,
      ],
      ['pki/root/generate/internal', { path: 'pki', type: 'pki' }, /root\/ of a pki mount/],
      ['pki/revoke', { path: 'pki', type: 'pki' }, /revoke\/ of a pki mount/],
      ['pki/tidy', { path: 'pki', type: 'pki' }, /tidy\/ of a pki mount/],
      ['pki/intermediate/generate/internal', { path: 'pki', type: 'pki' }, /intermediate\//],
      ['aws/config/root', { path: 'aws', type: 'aws' }, /config\/ of an aws mount/],
      ['aws/roles/deploy', { path: 'aws', type: 'aws' }, /roles\//],
      ['database/config/x', { path: 'database', type: 'database' }, /config\//],
      ['database/rotate-root/x', { path: 'database', type: 'database' }, /rotate-root\//],
      ['team/db/rotate-role/x', { path: 'team/db', type: 'database' }, /rotate-role\//],
      ['transit/keys/app/rotate', { path: 'transit', type: 'transit' }, /keys\//],
    ];
    for (const [path, mount, message] of cases) {
      const client = fakeClient({ data: {} });
      await assert.rejects(
        writeDocument(client, req(path, {}), path, mount, signal),
        (err: Error & { code: string }) => {
          assert.equal(err.code, 'vault.writeRefused');
          assert.match(err.message, message);
          return true;
        },
      );
      assert.equal(client.sent.length, 0, path);
    }
  });

  test('when the write answers no data then the document is not found', async () => {
    const client = fakeClient(undefined);
    await assert.rejects(
      writeDocument(
        client,
        req('aws/sts/deploy', {}),
        'aws/sts/deploy',
        { path: 'aws', type: 'aws' },
        signal,
      ),
      /the write to aws\/sts\/deploy answered no data/,
    );
  });
});
