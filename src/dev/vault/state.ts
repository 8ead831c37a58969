import { randomBytes, randomUUID } from 'node:crypto';

/** A policy rule: `path` may end in `*` (prefix glob) and use `+` for one segment. */
export interface PolicyRule {
  path: string;
  capabilities: string[];
}

/** A secrets engine or auth method, keyed by its path without the trailing slash. */
export interface Mount {
  path: string;
  type: string;
  options: Record<string, string> | null;
  accessor: string;
  uuid: string;
  description: string;
  /** Engine- or method-specific state (roles, stored data, keys). */
  // biome-ignore lint/suspicious/noExplicitAny: each engine keeps its own shape here
  state: any;
}

export interface Token {
  id: string;
  accessor: string;
  policies: string[];
  /** ms */
  createdAt: number;
  /** Seconds; 0 = never expires (root). */
  creationTtl: number;
  /** ms; null = no expiry. */
  expireAt: number | null;
  /** ms; null = no cap. */
  maxExpireAt: number | null;
  explicitMaxTtl: number;
  period: number;
  renewable: boolean;
  numUses: number;
  meta: Record<string, string> | null;
  displayName: string;
  path: string;
  orphan: boolean;
  parent: string | undefined;
  revoked: boolean;
  /** ms of the last renewal; null until renewed. */
  lastRenewal: number | null;
}

export interface Lease {
  id: string;
  issuedAt: number;
  expireAt: number;
  maxExpireAt: number;
  lastRenewal: number | null;
  renewable: boolean;
  defaultTtl: number;
  /** Token that created it: revoking that token revokes the lease. */
  token: string | undefined;
  revoked: boolean;
  mountType: string;
}

export interface WrapEntry {
  token: string;
  accessor: string;
  createdAt: number;
  ttl: number;
  creationPath: string;
  response: Record<string, unknown>;
}

/** One namespace: its own mounts, policies, tokens, leases and wrapping tokens. */
export interface Namespace {
  /** '' for the root namespace, else `team-a/` style full path. */
  path: string;
  parent: Namespace | undefined;
  children: Map<string, Namespace>;
  mounts: Map<string, Mount>;
  policies: Map<string, PolicyRule[]>;
  /** Policy text as written over sys/policies/acl (seeded policies are rendered on read). */
  policyText: Map<string, string>;
  tokens: Map<string, Token>;
  leases: Map<string, Lease>;
  wraps: Map<string, WrapEntry>;
}

/** The whole in-memory store plus its clock. */
export class VaultState {
  readonly root: Namespace;
  readonly now: () => number;
  sealed = false;
  standby: string | null = null;
  readonly clusterId = randomUUID();

  constructor(now: () => number) {
    this.now = now;
    this.root = newNamespace('', undefined);
  }
}

export function newNamespace(path: string, parent: Namespace | undefined): Namespace {
  return {
    path,
    parent,
    children: new Map(),
    mounts: new Map(),
    policies: new Map(),
    policyText: new Map(),
    tokens: new Map(),
    leases: new Map(),
    wraps: new Map(),
  };
}

const base62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Random base62 string (slight modulo bias is fine for a dev server). */
export function randomId(length = 24): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const b of bytes) out += base62[b % 62];
  return out;
}

export function newTokenId(): string {
  return `hvs.${randomId(24)}`;
}

export function newMount(path: string, type: string, options: Record<string, string> | null): Mount {
  return {
    path,
    type,
    options,
    accessor: `${type.replace(/[^a-z0-9]/g, '')}_${randomBytes(4).toString('hex')}`,
    uuid: randomUUID(),
    description: '',
    state: {},
  };
}

/** Descends into child namespaces named by leading path segments (`team-a/secret/x`). */
export function descendNamespace(ns: Namespace, path: string): { ns: Namespace; path: string } {
  let cur = ns;
  let rest = path;
  for (;;) {
    const seg = rest.split('/')[0] ?? '';
    const child = cur.children.get(seg);
    if (!child || cur.mounts.has(seg)) return { ns: cur, path: rest };
    cur = child;
    rest = rest.slice(seg.length + 1);
  }
}

/** The mount whose path is the longest segment prefix of `path`. */
export function findMount(ns: Namespace, path: string): { mount: Mount; rest: string } | undefined {
  const segs = path.split('/');
  for (let i = segs.length; i > 0; i--) {
    const candidate = segs.slice(0, i).join('/');
    const mount = ns.mounts.get(candidate);
    if (mount) return { mount, rest: segs.slice(i).join('/') };
  }
  return undefined;
}

/** The default mount TTL (768h) Vault applies when nothing else is set. */
export const SYSTEM_MAX_TTL = 2764800;
