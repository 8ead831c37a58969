import { monotonicMs } from '../base/builtins.ts';
import {
  InternalError,
  RefError,
  ResolveError,
  type ResolveFailure,
  type SecrunError,
  toSecrunError,
} from '../base/errors.ts';
import type {
  DocumentRequest,
  DocumentResult,
  IssuedCredential,
  Lease,
  Provider,
  SecretDocument,
} from '../providers/provider.ts';
import { importValues, pickField, type SecretRef, variableOf } from '../refs/index.ts';

/** One variable to fill from one reference. */
export interface ResolveEntry {
  variable: string;
  ref: SecretRef;
}

/** One import: every top-level field of the document becomes `prefix + FIELD`. */
export interface ResolveImport {
  ref: SecretRef;
  prefix: string;
  /** How the import is named in failures (e.g. `--import`, `import[0]`); default `<prefix>*`. */
  label?: string;
}

/** Where providers come from: the registry, or a stub in tests. */
export interface ProviderSource {
  get(scheme: SecretRef['scheme']): Promise<Provider>;
}

/** What `secrun check` and the supervisor know about one variable. Never a value. */
export interface ResolvedVariable {
  variable: string;
  /** The reference as written. */
  ref: string;
  provider: SecretRef['scheme'];
  documentKey: string;
  /** `entry` for an explicit or inherited reference, `import` for an imported field. */
  source: 'entry' | 'import';
  version?: string | number;
  stages?: string[];
  createdAt?: Date;
  lease?: Lease;
  /** The document was fetched by a write (a config entry's `write: true`), not a read. */
  write?: true;
  /** Duration of the provider's batch read that served this document, in ms. */
  readMs: number;
}

/** One document that was read (each exactly once), with its lease for renewal / revocation. */
export interface ResolvedDocument {
  key: string;
  scheme: SecretRef['scheme'];
  path: string;
  options: Readonly<Record<string, string>>;
  version?: string | number;
  stages?: string[];
  createdAt?: Date;
  lease?: Lease;
  /** Provider facts safe to print (ARN, mount type, KV version). */
  info?: Record<string, string | number | boolean>;
  /** The read issued a credential (a certificate) that expires; issued again, never polled. */
  issued?: IssuedCredential;
  /** Fetched by a write of these parameters (a config entry's `write: true`); never polled. */
  write?: Readonly<Record<string, string>>;
  /** Duration of the provider's batch read that served this document, in ms. */
  readMs: number;
  /** Variables filled from this document. */
  variables: string[];
}

/** The outcome of a successful resolution. */
export interface Resolution {
  /**
   * Variable -> secret value. Non-enumerable, so printing or serialising the resolution by
   * mistake shows no value; read it explicitly, and never log it.
   */
  readonly values: Map<string, string>;
  /** Per-variable metadata, in input order (entries, then imported fields). */
  variables: ResolvedVariable[];
  documents: ResolvedDocument[];
  /** Imported names dropped because an explicit entry sets the same variable. */
  shadowed: string[];
}

interface ReadOutcome {
  result: DocumentResult;
  readMs: number;
}

/** Ids of the leases attached to documents (Vault dynamic secrets). */
export function leaseIds(documents: ReadonlyArray<{ lease?: Lease }>): string[] {
  return documents.flatMap((d) => (d.lease ? [d.lease.id] : []));
}

/** One document per key: every reference to it shares one request. */
function groupDocuments(refs: SecretRef[]): Map<SecretRef['scheme'], DocumentRequest[]> {
  const seen = new Set<string>();
  const byScheme = new Map<SecretRef['scheme'], DocumentRequest[]>();
  for (const ref of refs) {
    if (seen.has(ref.documentKey)) continue;
    seen.add(ref.documentKey);
    const list = byScheme.get(ref.scheme) ?? [];
    const req: DocumentRequest = {
      scheme: ref.scheme,
      path: ref.path,
      options: ref.options,
      key: ref.documentKey,
    };
    if (ref.write) req.write = ref.write;
    list.push(req);
    byScheme.set(ref.scheme, list);
  }
  return byScheme;
}

/** Reads every document of one scheme with one `readAll`; a provider-level failure fails them all. */
async function readScheme(
  scheme: SecretRef['scheme'],
  requests: DocumentRequest[],
  registry: ProviderSource,
  signal: AbortSignal,
): Promise<Map<string, ReadOutcome>> {
  const out = new Map<string, ReadOutcome>();
  let results: Map<string, DocumentResult> | undefined;
  let failure: SecrunError | undefined;
  const start = monotonicMs();
  try {
    const provider = await registry.get(scheme);
    results = await provider.readAll(requests, signal);
  } catch (err) {
    failure = toSecrunError(err);
  }
  const readMs = Math.round(monotonicMs() - start);
  for (const req of requests) {
    const result: DocumentResult | undefined = failure
      ? { ok: false, error: failure }
      : (results?.get(req.key) ?? {
          ok: false,
          error: new InternalError(
            `the ${scheme} provider returned nothing for ${req.path}`,
            'resolve.noResult',
          ),
        });
    out.set(req.key, { result, readMs });
  }
  return out;
}

function metadataOf(
  doc: SecretDocument,
): Pick<ResolvedDocument, 'version' | 'stages' | 'createdAt' | 'lease' | 'issued'> {
  const meta: Pick<ResolvedDocument, 'version' | 'stages' | 'createdAt' | 'lease' | 'issued'> = {};
  if (doc.issued) meta.issued = doc.issued;
  if (doc.version !== undefined) meta.version = doc.version;
  if (doc.stages) meta.stages = doc.stages;
  if (doc.createdAt) meta.createdAt = doc.createdAt;
  if (doc.lease) meta.lease = doc.lease;
  return meta;
}

/**
 * Resolves every entry and import (design.md section 3).
 *
 * - References are grouped into documents by `documentKey` and by scheme; each provider's
 *   `readAll` is called once with all its documents, and all providers run in parallel. Every
 *   document is read exactly once, so `#username` and `#password` of a dynamic secret come
 *   from the same lease.
 * - Fields are picked with `pickField`; an import turns every top-level field of its document
 *   into `prefix + FIELD`. Explicit entries win over imports; two imports setting one variable
 *   is an error.
 * - Fail closed: every failure (variable, reference, typed cause) is collected and thrown as
 *   one ResolveError; a provider that fails as a whole fails each of its variables.
 *
 * @throws ResolveError listing every failing variable; never a value.
 */
export async function resolveAll(
  entries: ResolveEntry[],
  imports: ResolveImport[],
  registry: ProviderSource,
  signal: AbortSignal,
): Promise<Resolution> {
  const groups = groupDocuments([...entries.map((e) => e.ref), ...imports.map((i) => i.ref)]);
  const reads = await Promise.all(
    [...groups].map(([scheme, requests]) => readScheme(scheme, requests, registry, signal)),
  );
  const outcomes = new Map<string, ReadOutcome>();
  for (const read of reads) for (const [key, outcome] of read) outcomes.set(key, outcome);

  const failures: ResolveFailure[] = [];
  const values = new Map<string, string>();
  const variables: ResolvedVariable[] = [];
  const docVariables = new Map<string, string[]>();
  // A template's placeholders are entries of their own (`NAME=0`, ...): failures name the variable.
  const fail = (variable: string, ref: SecretRef | string, error: unknown) =>
    failures.push({
      variable: variableOf(variable),
      ref: typeof ref === 'string' ? ref : ref.raw,
      error: toSecrunError(error),
    });
  const describe = (variable: string, ref: SecretRef, source: ResolvedVariable['source'], o: ReadOutcome) => {
    const info: ResolvedVariable = {
      variable,
      ref: ref.raw,
      provider: ref.scheme,
      documentKey: ref.documentKey,
      source,
      readMs: o.readMs,
    };
    if (o.result.ok) Object.assign(info, metadataOf(o.result.doc));
    if (ref.write) info.write = true;
    const list = docVariables.get(ref.documentKey) ?? [];
    list.push(variable);
    docVariables.set(ref.documentKey, list);
    return info;
  };

  const explicit = new Set<string>();
  for (const { variable, ref } of entries) {
    explicit.add(variableOf(variable));
    const outcome = outcomes.get(ref.documentKey);
    if (!outcome) {
      fail(variable, ref, new InternalError(`no read for ${ref.documentKey}`, 'resolve.noResult'));
      continue;
    }
    if (!outcome.result.ok) {
      fail(variable, ref, outcome.result.error);
      continue;
    }
    try {
      values.set(variable, pickField(outcome.result.doc.value, ref.field, ref));
      variables.push(describe(variable, ref, 'entry', outcome));
    } catch (err) {
      fail(variable, ref, err);
    }
  }

  const shadowed: string[] = [];
  const importedBy = new Map<string, ResolveImport>();
  for (const imp of imports) {
    const label = imp.label ?? `${imp.prefix}*`;
    const outcome = outcomes.get(imp.ref.documentKey);
    if (!outcome) {
      fail(label, imp.ref, new InternalError(`no read for ${imp.ref.documentKey}`, 'resolve.noResult'));
      continue;
    }
    if (!outcome.result.ok) {
      fail(label, imp.ref, outcome.result.error);
      continue;
    }
    let vars: Map<string, string>;
    try {
      vars = importValues(outcome.result.doc.value, imp);
    } catch (err) {
      fail(label, imp.ref, err);
      continue;
    }
    for (const [name, value] of vars) {
      if (explicit.has(name)) {
        if (!shadowed.includes(name)) shadowed.push(name);
        continue;
      }
      const other = importedBy.get(name);
      if (other) {
        const otherLabel = other.label ?? `${other.prefix}*`;
        fail(
          name,
          imp.ref,
          new RefError(
            `variable ${name} is set by two imports (${otherLabel} ${other.ref.raw} and ${label} ${imp.ref.raw}); give them different prefixes`,
            'ref.importCollision',
          ),
        );
        continue;
      }
      importedBy.set(name, imp);
      values.set(name, value);
      variables.push(describe(name, imp.ref, 'import', outcome));
    }
  }

  // The leases minted by reads that succeeded go with the error, so the caller can revoke them.
  if (failures.length > 0) {
    const docs = [...outcomes.values()].flatMap((o) => (o.result.ok ? [o.result.doc] : []));
    throw new ResolveError(failures, { leaseIds: leaseIds(docs) });
  }

  const documents: ResolvedDocument[] = [];
  for (const requests of groups.values()) {
    for (const req of requests) {
      const outcome = outcomes.get(req.key);
      if (!outcome?.result.ok) continue;
      const doc: ResolvedDocument = {
        key: req.key,
        scheme: req.scheme,
        path: req.path,
        options: req.options,
        ...metadataOf(outcome.result.doc),
        readMs: outcome.readMs,
        variables: docVariables.get(req.key) ?? [],
      };
      if (req.write) doc.write = req.write;
      if (outcome.result.doc.info) doc.info = outcome.result.doc.info;
      documents.push(doc);
    }
  }
  const resolution = { variables, documents, shadowed } as Omit<Resolution, 'values'> as Resolution;
  Object.defineProperty(resolution, 'values', { value: values, enumerable: false, writable: false });
  return resolution;
}

/** The audit fields of one document read: provider, path, version, lease. Never a value. */
export function documentFields(doc: ResolvedDocument): Record<string, unknown> {
  return {
    provider: doc.scheme,
    path: doc.path,
    version: doc.version,
    leaseId: doc.lease?.id,
    ttl: doc.lease?.duration,
    renewable: doc.lease?.renewable,
    serial: doc.issued?.serial,
    notAfter: doc.issued?.expiresAt.toISOString(),
    // A write's parameter names only: their values are configuration, but never needed here.
    write: doc.write ? true : undefined,
    params: doc.write ? Object.keys(doc.write) : undefined,
  };
}
