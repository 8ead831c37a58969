import type { Resolution, ResolvedDocument, ResolveEntry } from '../resolve/resolve.ts';

/** The values and documents after a re-read of some documents. */
export interface MergedRead {
  /** All values: those of the documents read again replaced, the others kept. */
  values: Map<string, string>;
  /** The documents read again, each with only the variables it still owns. */
  documents: ResolvedDocument[];
}

/**
 * Merges a re-read of the documents `keys` into the current values. A variable's owner is the
 * document that set it last time (or, for a variable no document set, its entry's document);
 * variables owned by documents not read again are left alone.
 */
export function mergeRead(o: {
  /** The documents as last read, by key. */
  documents: ReadonlyMap<string, ResolvedDocument>;
  entries: readonly ResolveEntry[];
  values: ReadonlyMap<string, string>;
  keys: ReadonlySet<string>;
  read: Resolution;
}): MergedRead {
  const owner = new Map<string, string>();
  for (const doc of o.documents.values()) for (const v of doc.variables) owner.set(v, doc.key);
  for (const e of o.entries) if (!owner.has(e.variable)) owner.set(e.variable, e.ref.documentKey);

  const values = new Map(o.values);
  for (const key of o.keys) for (const v of o.documents.get(key)?.variables ?? []) values.delete(v);
  const documents: ResolvedDocument[] = [];
  for (const doc of o.read.documents) {
    const kept = doc.variables.filter((v) => {
      const k = owner.get(v);
      return k === undefined || o.keys.has(k);
    });
    for (const v of kept) {
      const value = o.read.values.get(v);
      if (value !== undefined) values.set(v, value);
    }
    documents.push({ ...doc, variables: kept });
  }
  return { values, documents };
}
