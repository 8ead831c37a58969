import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { describe, it } from 'node:test';
import { buildCsr, generateKey, type KeyType, privateKeyPem } from '../../../src/providers/vault/csr.ts';

/** `openssl req -verify`: OpenSSL 3.0 exits 0 even when the signature is bad, so read what it says. */
const verify = (csr: string, ...args: string[]): { ok: boolean; text: string } => {
  const r = spawnSync('openssl', ['req', '-verify', '-noout', ...args], { input: csr });
  const said = `${r.stdout}${r.stderr}`;
  return { ok: r.status === 0 && /verify OK/.test(said) && !/failure/.test(said), text: said };
};

describe('buildCsr', () => {
  for (const [type, bits] of [
    ['ec', undefined],
    ['ec', 384],
    ['rsa', 2048],
    ['ed25519', undefined],
  ] as [KeyType, number | undefined][]) {
    it(`when a ${type}${bits ? `-${bits}` : ''} key signs a request then openssl req -verify accepts it`, () => {
      const key = generateKey(type, bits);
      const csr = buildCsr(key, {
        commonName: 'api.example.com',
        dnsNames: ['api.example.com', 'api.internal'],
        ipSans: ['10.0.0.7', '::1'],
        uriSans: ['spiffe://cluster.local/ns/payments/sa/api'],
      });
      assert.match(csr, /^-----BEGIN CERTIFICATE REQUEST-----\n/);
      const { ok, text } = verify(csr, '-text');
      assert.ok(ok, text);
      assert.match(text, /Subject: CN\s?=\s?api\.example\.com/);
      assert.match(
        text,
        /DNS:api\.example\.com, DNS:api\.internal, IP Address:10\.0\.0\.7, IP Address:0:0:0:0:0:0:0:1, URI:spiffe:\/\/cluster\.local\/ns\/payments\/sa\/api/,
      );
    });
  }

  it('when the request is tampered with then openssl req -verify rejects it', () => {
    const key = generateKey('ec');
    const csr = buildCsr(key, { commonName: 'a.example.com' });
    const der = Buffer.from(csr.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    const i = der.indexOf(Buffer.from('a.example.com'));
    der[i] = 'b'.charCodeAt(0);
    const bad = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    assert.equal(verify(bad).ok, false);
  });

  it('when there is no name then the request has an empty subject and no extension request', () => {
    const csr = buildCsr(generateKey('ec'), {});
    const { ok, text } = verify(csr, '-text');
    assert.ok(ok, text);
    assert.doesNotMatch(text, /Subject Alternative Name/);
  });
});

describe('generateKey', () => {
  it('when asked for an unknown size then it names what is accepted', () => {
    assert.throws(() => generateKey('ec', 123), /256, 384 or 521/);
    assert.throws(() => generateKey('rsa', 1024), /2048, 3072 or 4096/);
    assert.throws(() => generateKey('dsa' as KeyType), /ec, rsa or ed25519/);
  });

  it('when the key is exported then it is PKCS#8 and reads back as the same key', () => {
    const key = generateKey('ec');
    const pem = privateKeyPem(key);
    assert.match(pem, /^-----BEGIN PRIVATE KEY-----/);
    assert.equal(createPrivateKey(pem).asymmetricKeyDetails?.namedCurve, 'prime256v1');
  });
});
