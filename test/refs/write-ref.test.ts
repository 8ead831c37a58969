import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { collectRefs, parseRef, writeRef } from '../../src/refs/index.ts';
import { thrown } from '../helpers/assert.ts';

describe('writeRef: a config entry marked write: true', () => {
  test('when a reference becomes a write then its document key differs from the read of the same path', () => {
    const read = parseRef('vault:aws/sts/deploy#access_key');
    const write = writeRef(read, { ttl: '15m' });
    assert.notEqual(write.documentKey, read.documentKey);
    assert.deepEqual(write.write, { ttl: '15m' });
    assert.equal(read.write, undefined, 'the read is left alone');
    assert.deepEqual(write.field, read.field);
  });

  test('when two entries write the same path with the same parameters (any order) then they share one document', () => {
    const a = writeRef(parseRef('vault:aws/sts/deploy#access_key'), { ttl: '15m', role_session_name: 'ci' });
    const b = writeRef(parseRef('vault:aws/sts/deploy#secret_key'), { role_session_name: 'ci', ttl: '15m' });
    const c = writeRef(parseRef('vault:aws/sts/deploy#secret_key'), { ttl: '30m', role_session_name: 'ci' });
    assert.equal(a.documentKey, b.documentKey);
    assert.notEqual(a.documentKey, c.documentKey, 'other parameters are another write');
  });

  test('when the reference is not vault: or carries ?options then it is a config error naming the fix', () => {
    const aws = thrown(() => writeRef(parseRef('awssm:prod/x#k'), {})) as Error & { code: string };
    assert.equal(aws.code, 'config.badWrite');
    const opts = thrown(() =>
      writeRef(parseRef('vault:pki/issue/web?common_name=a.example#certificate'), {}),
    ) as Error & { code: string };
    assert.equal(opts.code, 'config.badWrite');
    assert.match(opts.message, /params:, not in the reference's \?options \(common_name\)/);
  });

  test('when collectRefs gets a config entry with write then its reference carries the parameters; a template is refused', () => {
    const c = collectRefs({
      env: {},
      scanEnv: false,
      explicit: [
        { name: 'K', ref: 'vault:aws/sts/deploy#access_key', source: 'config', write: { ttl: '900' } },
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a secrun template
        { name: 'T', ref: 'k=${vault:aws/sts/deploy#access_key}', source: 'config', write: {} },
      ],
      imports: [],
      deferErrors: true,
    });
    assert.deepEqual(c.refs[0]?.ref.write, { ttl: '900' });
    assert.equal(c.templates.length, 0);
    assert.equal(c.failures[0]?.variable, 'T');
    assert.equal(c.failures[0]?.error.code, 'config.badWrite');
  });
});
