import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseRef } from '../../src/refs/index.ts';
import type { Resolution, ResolvedDocument, ResolveEntry } from '../../src/resolve/resolve.ts';
import { mergeRead } from '../../src/supervise/merge-read.ts';

const entry = (variable: string, ref: string): ResolveEntry => ({ variable, ref: parseRef(ref) });
const keyOf = (ref: string): string => parseRef(ref).documentKey;

function doc(ref: string, variables: string[], leaseId?: string): ResolvedDocument {
  return {
    key: keyOf(ref),
    scheme: 'vault',
    path: ref,
    options: {},
    readMs: 0,
    variables,
    ...(leaseId ? { lease: { id: leaseId, duration: 60, renewable: true } } : {}),
  };
}

function read(documents: ResolvedDocument[], values: Record<string, string>): Resolution {
  return { values: new Map(Object.entries(values)), variables: [], documents, shadowed: [] };
}

const DB = 'vault:database/creds/app#password';
const KV = 'vault:secret/data/app#token';

describe('mergeRead', () => {
  const entries = [
    entry('DB_PASS', DB),
    entry('DB_USER', 'vault:database/creds/app#username'),
    entry('TOKEN', KV),
  ];
  const documents = new Map([
    [keyOf(DB), doc(DB, ['DB_PASS', 'DB_USER'], 'lease-1')],
    [keyOf(KV), doc(KV, ['TOKEN'])],
  ]);
  const values = new Map([
    ['DB_PASS', 'old-pass'],
    ['DB_USER', 'old-user'],
    ['TOKEN', 'old-token'],
  ]);

  test('when one document is read again then its values are replaced and the others kept', () => {
    const merged = mergeRead({
      documents,
      entries,
      values,
      keys: new Set([keyOf(DB)]),
      read: read([doc(DB, ['DB_PASS', 'DB_USER'], 'lease-2')], { DB_PASS: 'new-pass', DB_USER: 'new-user' }),
    });
    assert.deepEqual(Object.fromEntries(merged.values), {
      DB_PASS: 'new-pass',
      DB_USER: 'new-user',
      TOKEN: 'old-token',
    });
    assert.deepEqual(
      merged.documents.map((d) => [d.key, d.variables, d.lease?.id]),
      [[keyOf(DB), ['DB_PASS', 'DB_USER'], 'lease-2']],
    );
    assert.equal(values.get('DB_PASS'), 'old-pass', 'the current values are not changed');
  });

  test('when a re-read sets a variable owned by a document not read again then that variable is left alone', () => {
    const merged = mergeRead({
      documents,
      entries,
      values,
      keys: new Set([keyOf(DB)]),
      read: read([doc(DB, ['DB_PASS', 'TOKEN'])], { DB_PASS: 'new-pass', TOKEN: 'stolen' }),
    });
    assert.equal(merged.values.get('TOKEN'), 'old-token');
    assert.deepEqual(merged.documents[0]?.variables, ['DB_PASS']);
  });

  test('when a variable is no longer in the re-read document then it is removed', () => {
    const merged = mergeRead({
      documents,
      entries,
      values,
      keys: new Set([keyOf(DB)]),
      read: read([doc(DB, ['DB_PASS'])], { DB_PASS: 'new-pass' }),
    });
    assert.equal(merged.values.has('DB_USER'), false);
    assert.equal(merged.values.get('DB_PASS'), 'new-pass');
  });

  test('when a variable no document set so far appears then its entry decides the owner', () => {
    const merged = mergeRead({
      documents: new Map([[keyOf(DB), doc(DB, ['DB_PASS'])]]),
      entries,
      values: new Map([['DB_PASS', 'old-pass']]),
      keys: new Set([keyOf(DB)]),
      read: read([doc(DB, ['DB_PASS', 'DB_USER', 'TOKEN'])], { DB_PASS: 'p', DB_USER: 'u', TOKEN: 't' }),
    });
    assert.deepEqual(Object.fromEntries(merged.values), { DB_PASS: 'p', DB_USER: 'u' });
    assert.deepEqual(merged.documents[0]?.variables, ['DB_PASS', 'DB_USER']);
  });
});
