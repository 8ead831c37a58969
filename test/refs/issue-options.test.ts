import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RefError } from '../../src/base/errors.ts';
import { parseRef } from '../../src/refs/parse.ts';

const code = (text: string): string => {
  try {
    parseRef(text);
  } catch (err) {
    assert.ok(err instanceof RefError);
    return err.code;
  }
  return 'ok';
};

describe('parseRef: issuing parameters', () => {
  test('when a PKI reference has parameters then they are options of the document, and the field picks one output', () => {
    const r = parseRef(
      'vault:pki/issue/web?common_name=api.example.com&alt_names=a.example.com,b.example.com&ttl=24h#certificate',
    );
    assert.deepEqual(r.options, {
      common_name: 'api.example.com',
      alt_names: 'a.example.com,b.example.com',
      ttl: '24h',
    });
    assert.deepEqual(r.field, { kind: 'key', name: 'certificate' });
  });

  test('when #certificate and #private_key name one request then they share one document key', () => {
    const a = parseRef('vault:pki/sign/web?common_name=x.example.com&key_type=ec#certificate');
    const b = parseRef('vault:pki/sign/web?key_type=ec&common_name=x.example.com#private_key');
    assert.equal(a.documentKey, b.documentKey);
  });

  test('when key_type or key_bits are malformed, or version is mixed with parameters, then the reference is refused', () => {
    assert.equal(code('vault:pki/sign/web?key_type=dsa'), 'ref.badOption');
    assert.equal(code('vault:pki/sign/web?key_bits=abc'), 'ref.badOption');
    assert.equal(code('vault:secret/x?version=2&ttl=1h'), 'ref.conflictingOptions');
    assert.equal(code('vault:pki/issue/web?commonname=x'), 'ref.unknownOption');
    assert.equal(code('awssm:x?common_name=a'), 'ref.unknownOption');
  });
});
