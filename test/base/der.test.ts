import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  children,
  fromPem,
  integer,
  oid,
  oidText,
  readTlv,
  sequence,
  time,
  toPem,
  utf8String,
} from '../../src/base/der.ts';

describe('der', () => {
  it('when integers are encoded then they are minimal and positive', () => {
    assert.equal(integer(0).toString('hex'), '020100');
    assert.equal(integer(127).toString('hex'), '02017f');
    assert.equal(integer(128).toString('hex'), '02020080');
    assert.equal(integer(Buffer.from([0, 0, 1])).toString('hex'), '020101');
    assert.equal(integer(0x1234n).toString('hex'), '02021234');
  });

  it('when an OID is encoded then it matches the known encoding and reads back', () => {
    assert.equal(oid('1.2.840.113549.1.1.11').toString('hex'), '06092a864886f70d01010b');
    assert.equal(oid('2.5.29.17').toString('hex'), '0603551d11');
    assert.equal(oidText(readTlv(oid('1.2.840.10045.4.3.2')).contents), '1.2.840.10045.4.3.2');
  });

  it('when contents are longer than 127 bytes then the length has the long form and reads back', () => {
    const long = utf8String('x'.repeat(300));
    assert.equal(long.subarray(0, 4).toString('hex'), '0c82012c');
    const seq = sequence(long, integer(5));
    const [a, b] = children(readTlv(seq));
    assert.equal(a?.contents.length, 300);
    assert.equal(b?.contents.toString('hex'), '05');
  });

  it('when a time is before 2050 then it is UTCTime, else GeneralizedTime', () => {
    assert.equal(time(new Date('2026-12-02T02:08:29Z')).toString('latin1').slice(2), '261202020829Z');
    assert.equal(time(new Date('2051-01-01T00:00:00Z')).toString('latin1').slice(2), '20510101000000Z');
  });

  it('when DER is truncated then reading it throws', () => {
    assert.throws(() => readTlv(Buffer.from('3005020101', 'hex')), /truncated/);
  });

  it('when bytes are armoured then fromPem gives them back', () => {
    const der = Buffer.alloc(100, 7);
    const pem = toPem('TEST', der);
    assert.match(pem, /^-----BEGIN TEST-----\n.{64}\n/);
    assert.deepEqual(fromPem('TEST', `junk\n${pem}`), der);
    assert.equal(fromPem('OTHER', pem), undefined);
  });
});
