import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { auditFd, createAudit, noAudit } from '../../src/base/audit.ts';
import { UsageError } from '../../src/base/errors.ts';

describe('audit', () => {
  test('when records are written then each is one JSON line with time and event', () => {
    const lines: string[] = [];
    const audit = createAudit({ write: (l) => lines.push(l), now: () => new Date(0) });
    audit.record('secret.read', { provider: 'vault', path: 'secret/app/db', version: 3 });
    assert.equal(lines.length, 1);
    assert.ok(lines[0]?.endsWith('\n'));
    assert.deepEqual(JSON.parse(lines[0] ?? ''), {
      time: '1970-01-01T00:00:00.000Z',
      event: 'secret.read',
      provider: 'vault',
      path: 'secret/app/db',
      version: 3,
    });
  });

  test('when a field contains a known secret then it is redacted, also nested', () => {
    const lines: string[] = [];
    const canary = 'canary-value-123';
    const audit = createAudit({ write: (l) => lines.push(l), secrets: () => [canary, 'ab'] });
    audit.record('auth.login', { note: `x${canary}y`, nested: { list: [canary, 'fine'] }, short: 'ab' });
    assert.ok(!lines[0]?.includes(canary));
    const rec = JSON.parse(lines[0] ?? '');
    assert.equal(rec.note, '<redacted>');
    assert.deepEqual(rec.nested.list, ['<redacted>', 'fine']);
    assert.equal(rec.short, 'ab', 'values shorter than 4 characters are not treated as secrets');
  });

  test('when no target is given then nothing is recorded', () => {
    assert.equal(createAudit({}), noAudit);
    assert.equal(noAudit.enabled, false);
  });

  test('when the target is parsed then stderr and fd:N work and junk is a usage error', () => {
    assert.equal(auditFd('stderr'), 2);
    assert.equal(auditFd('fd:3'), 3);
    assert.throws(() => auditFd('file:/tmp/x'), UsageError);
  });

  test('when the audit descriptor is not open then creating the stream is a usage error', () => {
    assert.throws(() => createAudit({ target: 'fd:987' }), /file descriptor 987 is not open/);
    assert.equal(createAudit({ target: 'stderr' }).enabled, true);
  });
});
