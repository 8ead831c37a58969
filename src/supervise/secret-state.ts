/**
 * The secrets of one supervised run as last read — values, documents and the environment the
 * next child start gets — and how a re-read updates them.
 */

import { errorFields } from '../base/error-fields.ts';
import type { Resolution, ResolvedDocument, ResolveEntry } from '../resolve/resolve.ts';
import { documentFields } from '../resolve/resolve.ts';
import { changedVariables } from './change-plan.ts';
import type { SuperviseContext } from './context.ts';
import type { LeaseTracker } from './leases.ts';
import { mergeRead } from './merge-read.ts';
import type { ReissueScheduler } from './reissue.ts';

export interface SecretStateOptions {
  /** The boot resolution. */
  resolution: Resolution;
  entries: ResolveEntry[];
  /** Builds the child's environment from all values. */
  buildEnv: (values: ReadonlyMap<string, string>) => Record<string, string>;
  /** The contents of the child's files (`--file`), by variable, in fd order. */
  buildFiles?: (values: ReadonlyMap<string, string>) => FileContents;
  /** Every secret value read gets added here. */
  knownSecrets: Set<string> | undefined;
  leases: LeaseTracker;
  /** Schedules the next issue of documents that issued a certificate. */
  reissue?: Pick<ReissueScheduler, 'track'>;
}

/** The contents of the child's files: (variable, content) in fd order. */
export type FileContents = ReadonlyArray<readonly [name: string, content: string]>;

/** What a re-read changed in the environment of the next child start. */
export interface EnvChange {
  /** Changed variable names (sorted). */
  variables: string[];
  /** When the earliest lease it replaced expires, if one does. */
  expiresAt: number | undefined;
}

/** The current values, documents and desired child environment of one run. */
export class SecretState {
  readonly #ctx: SuperviseContext;
  readonly #o: SecretStateOptions;
  readonly #docs = new Map<string, ResolvedDocument>();
  #values: Map<string, string>;
  #env: Record<string, string>;
  #files: FileContents;

  constructor(ctx: SuperviseContext, o: SecretStateOptions) {
    this.#ctx = ctx;
    this.#o = o;
    this.#values = new Map(o.resolution.values);
    this.#remember(this.#values);
    for (const doc of o.resolution.documents) this.#docs.set(doc.key, doc);
    this.#env = o.buildEnv(this.#values);
    this.#files = o.buildFiles?.(this.#values) ?? [];
  }

  /** The contents of the files the next child start reads, in fd order. */
  get files(): string[] {
    return this.#files.map(([, content]) => content);
  }

  /** All values as last read. */
  get values(): ReadonlyMap<string, string> {
    return this.#values;
  }

  /** The documents as last read, by key (a live view). */
  get documents(): ReadonlyMap<string, ResolvedDocument> {
    return this.#docs;
  }

  /** The environment the next child start gets. */
  get env(): Record<string, string> {
    return this.#env;
  }

  /**
   * Applies a re-read of the documents `keys`: new values, documents and leases. Returns what
   * changed in the environment, or undefined when nothing did or the read is not applied.
   */
  apply(keys: Set<string>, read: Resolution, reason: string): EnvChange | undefined {
    const { audit, log } = this.#ctx;
    this.#remember(read.values);
    const merged = mergeRead({
      documents: this.#docs,
      entries: this.#o.entries,
      values: this.#values,
      keys,
      read,
    });
    const env = this.#envOf(merged.values, merged.documents, reason);
    if (env === undefined) return undefined;
    const expiries: number[] = [];
    for (const doc of merged.documents) {
      const old = this.#docs.get(doc.key);
      const replaced = this.#o.leases.replace(old, doc);
      if (replaced?.expiresAt !== undefined) expiries.push(replaced.expiresAt);
      if (old?.issued) expiries.push(old.issued.expiresAt.getTime());
      this.#o.reissue?.track(doc);
      this.#docs.set(doc.key, doc);
      audit.record('secret.reread', {
        ok: true,
        ...documentFields(doc),
        replacedLeaseId: replaced?.id,
        reason,
      });
    }
    this.#values = merged.values;
    const files = this.#o.buildFiles?.(merged.values) ?? [];
    const changed = [
      ...new Set([...changedVariables(this.#env, env), ...changedFiles(this.#files, files)]),
    ].sort();
    if (changed.length === 0) {
      log.debug('secrets read again; the environment is unchanged', { reason });
      return undefined;
    }
    this.#env = env;
    this.#files = files;
    audit.record('rotation.detected', {
      reason,
      documents: merged.documents.map((d) => ({
        provider: d.scheme,
        path: d.path,
        version: d.version,
        leaseId: d.lease?.id,
      })),
      variables: changed,
    });
    log.info(`secrets changed: ${changed.join(', ')}`, { reason });
    return { variables: changed, expiresAt: expiries.length > 0 ? Math.min(...expiries) : undefined };
  }

  /**
   * The child environment of re-read values; undefined when it is not applied (the run ended, or
   * the values do not make a valid environment): then the new leases are only kept for revocation.
   */
  #envOf(
    values: ReadonlyMap<string, string>,
    documents: readonly ResolvedDocument[],
    reason: string,
  ): Record<string, string> | undefined {
    if (!this.#ctx.finished) {
      try {
        return this.#o.buildEnv(values);
      } catch (err) {
        const f = errorFields(err);
        this.#ctx.audit.record('secret.reread', {
          ok: false,
          code: f.code,
          reason,
          documents: documents.map((d) => d.path),
        });
        this.#ctx.log.warn(
          'the secrets read again do not make a valid environment; the child keeps the current one',
          f,
        );
      }
    }
    for (const doc of documents) this.#o.leases.retireUnused(doc);
    return undefined;
  }

  #remember(values: ReadonlyMap<string, string>): void {
    const known = this.#o.knownSecrets;
    if (known) for (const v of values.values()) known.add(v);
  }
}

/** Files whose content differs (a file's path in the environment never changes). */
function changedFiles(before: FileContents, after: FileContents): string[] {
  const old = new Map(before);
  return after.filter(([name, content]) => old.get(name) !== content).map(([name]) => name);
}
