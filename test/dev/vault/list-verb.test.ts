import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { openVaultTarget, realVault, type VaultTarget } from '../../helpers/vault-target.ts';

/** One request over `agent`, answering status and parsed body. */
function send(
  t: VaultTarget,
  agent: Agent,
  method: string,
  path: string,
): Promise<{ status: number; body: { data?: { keys?: string[] } } }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${t.addr}${path}`,
      { method, agent, headers: { 'x-vault-token': t.rootToken } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : {} });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

// hashicorp/vault http/logical.go buildLogicalRequestNoAuth: the LIST verb is a list operation.
// Node's HTTP parser has no LIST method; the dev server picks such requests up itself.
describe('vault dev server: the LIST verb', () => {
  let t: VaultTarget;
  before(async () => {
    t = await openVaultTarget();
    for (const k of ['a', 'b']) await t.client().write(`secret/data/${t.prefix}/${k}`, { data: { k } });
  });
  after(async () => {
    for (const k of ['a', 'b']) await t.raw('DELETE', `/v1/secret/metadata/${t.prefix}/${k}`);
    await t.close();
  });

  test('when LIST and GET alternate on one keep-alive agent then every request is answered', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let i = 0; i < 3; i++) {
        const listed = await send(t, agent, 'LIST', `/v1/secret/metadata/${t.prefix}`);
        assert.equal(listed.status, 200);
        assert.deepEqual(listed.body.data?.keys, ['a', 'b']);
        const read = await send(t, agent, 'GET', `/v1/secret/data/${t.prefix}/a`);
        assert.equal(read.status, 200);
      }
    } finally {
      agent.destroy();
    }
  });

  test('when a method node does not know and that is not LIST arrives then a bare 400', {
    skip: realVault,
  }, async () => {
    const url = new URL(t.addr);
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname, () => {
        socket.write(`BREW /v1/sys/health HTTP/1.1\r\nHost: ${url.host}\r\n\r\n`);
      });
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
      socket.on('error', reject);
    });
    assert.match(reply, /^HTTP\/1\.1 400 Bad Request\r\n/);
  });
});
