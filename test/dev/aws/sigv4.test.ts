import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  canonicalPath,
  canonicalQuery,
  type SigV4Key,
  type SigV4Request,
  sha256Hex,
  verifySigV4,
} from '../../../src/dev/aws/sigv4.ts';

// Known answer: produced once with @smithy/signature-v4 (the signer the AWS SDK uses) for this exact
// request, signing date 2026-01-15T12:34:56Z; hard-coded so the test needs no signer.
const BODY = '{"SecretId":"prod/db"}';
const SIGNATURE = 'd13bab2048ae1befe822d845c56ce3b2a7e4ef1cf09f985f4971c67ed528d5a1';
const SIGNED =
  'content-length;content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token;x-amz-target';
const T0 = Date.UTC(2026, 0, 15, 12, 34, 56);
const KEY: SigV4Key = {
  secretAccessKey: 'kat/secret/key/EXAMPLE0000000000000000',
  sessionToken: 'kat-session-token',
};

function katRequest(): SigV4Request & { headers: Record<string, string> } {
  return {
    method: 'POST',
    path: '/',
    query: '',
    body: Buffer.from(BODY),
    headers: {
      host: '127.0.0.1:4566',
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': 'secretsmanager.GetSecretValue',
      'content-length': '22',
      'x-amz-content-sha256': 'f7e8785d034ab0cf4e95a95a1009431190b7a90407bd6acb5fa5aa34cb09c689',
      'x-amz-date': '20260115T123456Z',
      'x-amz-security-token': 'kat-session-token',
      authorization: `AWS4-HMAC-SHA256 Credential=AKIDKATEXAMPLE/20260115/us-east-1/secretsmanager/aws4_request, SignedHeaders=${SIGNED}, Signature=${SIGNATURE}`,
      'user-agent': 'not signed',
    },
  };
}

function verify(req: SigV4Request, over: { now?: number; key?: SigV4Key | undefined; region?: string } = {}) {
  const key = 'key' in over ? over.key : KEY;
  return verifySigV4(req, {
    lookup: (id) => (id === 'AKIDKATEXAMPLE' ? key : undefined),
    now: over.now ?? T0 + 1000,
    region: over.region ?? 'us-east-1',
    service: 'secretsmanager',
  });
}

describe('verifySigV4', () => {
  test('when the known-answer request is verified then it is accepted', () => {
    assert.equal(sha256Hex(BODY), katRequest().headers['x-amz-content-sha256']);
    assert.deepEqual(verify(katRequest()), { ok: true, accessKeyId: 'AKIDKATEXAMPLE' });
  });

  test('when an unsigned header changes then the signature still verifies', () => {
    const req = katRequest();
    req.headers['user-agent'] = 'something else';
    assert.equal(verify(req).ok, true);
  });

  test('when a signed header value only differs in whitespace then it still verifies', () => {
    const req = katRequest();
    req.headers['content-type'] = '  application/x-amz-json-1.1  ';
    assert.equal(verify(req).ok, true);
  });

  test('when the body is tampered with then the payload hash check rejects it', () => {
    const req = katRequest();
    req.body = Buffer.from('{"SecretId":"prod/dc"}');
    const r = verify(req);
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.code, 'InvalidSignatureException');
    assert.match(!r.ok ? r.message : '', /x-amz-content-sha256/);
  });

  test('when body and its hash header are both replaced then the signature rejects it', () => {
    const req = katRequest();
    const body = '{"SecretId":"prod/dc"}';
    req.body = Buffer.from(body);
    req.headers['x-amz-content-sha256'] = sha256Hex(body);
    const r = verify(req);
    assert.equal(!r.ok && r.code, 'InvalidSignatureException');
    assert.match(!r.ok ? r.message : '', /^The request signature we calculated does not match/);
  });

  test('when a signed header is tampered with then it is rejected', () => {
    for (const [name, value] of [
      ['x-amz-target', 'secretsmanager.DeleteSecret'],
      ['host', '127.0.0.1:4567'],
    ] as const) {
      const req = katRequest();
      req.headers[name] = value;
      const r = verify(req);
      assert.equal(!r.ok && r.code, 'InvalidSignatureException', name);
    }
  });

  test('when x-amz-date is changed within the window then the signature no longer matches', () => {
    const req = katRequest();
    req.headers['x-amz-date'] = '20260115T123457Z';
    const r = verify(req);
    assert.equal(!r.ok && r.code, 'InvalidSignatureException');
    assert.match(!r.ok ? r.message : '', /does not match/);
  });

  test('when the secret key is wrong then InvalidSignatureException', () => {
    const r = verify(katRequest(), { key: { ...KEY, secretAccessKey: 'another' } });
    assert.equal(!r.ok && r.code, 'InvalidSignatureException');
  });

  test('when the access key is unknown then UnrecognizedClientException', () => {
    const r = verify(katRequest(), { key: undefined });
    assert.deepEqual(r, {
      ok: false,
      code: 'UnrecognizedClientException',
      message: 'The security token included in the request is invalid.',
    });
  });

  test('when the request is older than 5 minutes then "Signature expired"', () => {
    const r = verify(katRequest(), { now: T0 + 5 * 60_000 + 1000 });
    assert.equal(!r.ok && r.code, 'InvalidSignatureException');
    assert.equal(
      !r.ok && r.message,
      'Signature expired: 20260115T123456Z is now earlier than 20260115T123457Z (20260115T123957Z - 5 min.)',
    );
    assert.equal(verify(katRequest(), { now: T0 + 5 * 60_000 }).ok, true);
  });

  test('when the request is more than 5 minutes in the future then "Signature not yet current"', () => {
    const r = verify(katRequest(), { now: T0 - 6 * 60_000 });
    assert.equal(!r.ok && r.code, 'InvalidSignatureException');
    assert.match(!r.ok ? r.message : '', /^Signature not yet current: 20260115T123456Z is still later than/);
  });

  test('when the session token is missing, wrong or unexpected then UnrecognizedClientException', () => {
    const missing = katRequest();
    delete (missing.headers as Record<string, string | undefined>)['x-amz-security-token'];
    assert.equal(
      !verify(missing).ok && (verify(missing) as { code: string }).code,
      'UnrecognizedClientException',
    );
    const wrong = katRequest();
    wrong.headers['x-amz-security-token'] = 'other-token';
    const r = verify(wrong);
    assert.equal(!r.ok && r.code, 'UnrecognizedClientException');
    const unexpected = verify(katRequest(), { key: { secretAccessKey: KEY.secretAccessKey } });
    assert.equal(!unexpected.ok && unexpected.code, 'UnrecognizedClientException');
  });

  test('when the scope names another region then it is rejected', () => {
    const r = verify(katRequest(), { region: 'eu-west-1' });
    assert.equal(!r.ok && r.code, 'InvalidSignatureException');
    assert.match(!r.ok ? r.message : '', /valid region, not 'us-east-1'/);
  });

  test('when Authorization is missing or malformed then the front-end errors are returned', () => {
    const none = katRequest();
    delete (none.headers as Record<string, string | undefined>)['authorization'];
    assert.equal((verify(none) as { code: string }).code, 'MissingAuthenticationTokenException');
    const bad = katRequest();
    bad.headers['authorization'] = 'AWS4-HMAC-SHA256 Credential=AKIDKATEXAMPLE';
    assert.equal((verify(bad) as { code: string }).code, 'IncompleteSignatureException');
  });
});

describe('canonical parts', () => {
  test('when the query has unsorted and encoded pairs then it is decoded, re-encoded and sorted', () => {
    assert.equal(canonicalQuery(''), '');
    assert.equal(canonicalQuery('b=2&a=x%20y&a=1&c'), 'a=1&a=x%20y&b=2&c=');
    assert.equal(canonicalQuery("k=a*b'"), 'k=a%2Ab%27');
  });

  test('when the path has dot segments and reserved characters then it is normalised and encoded', () => {
    assert.equal(canonicalPath('/'), '/');
    assert.equal(canonicalPath('/a/./b/../c/'), '/a/c/');
    assert.equal(canonicalPath('/a%20b'), '/a%2520b');
  });
});
