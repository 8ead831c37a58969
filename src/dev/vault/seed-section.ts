import type { Seed } from '../seed.ts';
import { SeedError } from '../seed.ts';
import { configureApprole } from './auth-approle.ts';
import { configureCert } from './auth-cert.ts';
import { configureJwt } from './auth-jwt.ts';
import { isRecord, type SeedFail } from './auth-roles.ts';
import { configureAws } from './aws-engine.ts';
import type { DbRole } from './database.ts';
import { parseDuration } from './duration.ts';
import { strList } from './http.ts';
import { kvState, putVersion } from './kv.ts';
import { configurePki } from './pki.ts';
import { isCapability } from './policy.ts';
import { findMount, type Namespace, newMount, newNamespace, newTokenId, type VaultState } from './state.ts';
import { issueToken } from './tokens.ts';

type Path = (string | number)[];

const NS_KEYS = new Set(['mounts', 'kv', 'policies', 'tokens', 'auth', 'namespaces']);
const AUTH_TYPES: Record<
  string,
  (m: import('./state.ts').Mount, c: Record<string, unknown>, at: Path, f: SeedFail) => void
> = {
  approle: configureApprole,
  jwt: configureJwt,
  kubernetes: configureJwt,
  cert: configureCert,
};

function mapAt(v: unknown, at: Path, fail: SeedFail): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  if (!isRecord(v)) throw fail(at, 'must be a mapping');
  return v;
}

function loadMounts(st: VaultState, ns: Namespace, raw: unknown, at: Path, fail: SeedFail): void {
  for (const [name, cfgRaw] of Object.entries(mapAt(raw, at, fail))) {
    const mAt = [...at, name];
    const cfg = mapAt(cfgRaw, mAt, fail);
    const path = name.replace(/^\/+|\/+$/g, '');
    const type = cfg['type'];
    if (type === 'kv') {
      const version = String(cfg['version'] ?? '2');
      if (version !== '1' && version !== '2') throw fail([...mAt, 'version'], 'must be 1 or 2');
      ns.mounts.set(path, newMount(path, 'kv', { version }));
    } else if (type === 'database') {
      const mount = newMount(path, 'database', null);
      const roles = new Map<string, DbRole>();
      for (const [role, rRaw] of Object.entries(mapAt(cfg['roles'], [...mAt, 'roles'], fail))) {
        const r = mapAt(rRaw, [...mAt, 'roles', role], fail);
        const ttl = (key: string): number => {
          const d = parseDuration(r[key] ?? 0);
          if (d === undefined)
            throw fail([...mAt, 'roles', role, key], 'must be seconds or a duration like "1h"');
          return d;
        };
        roles.set(role, { defaultTtl: ttl('default_ttl'), maxTtl: ttl('max_ttl') });
      }
      mount.state.roles = roles;
      ns.mounts.set(path, mount);
    } else if (type === 'pki') {
      const mount = newMount(path, 'pki', null);
      configurePki(mount, cfg, mAt, fail, st.now());
      ns.mounts.set(path, mount);
    } else if (type === 'aws') {
      const mount = newMount(path, 'aws', null);
      configureAws(mount, cfg, mAt, fail);
      ns.mounts.set(path, mount);
    } else {
      throw fail(
        [...mAt, 'type'],
        `unknown mount type ${JSON.stringify(type)}; expected kv, database, pki or aws`,
      );
    }
  }
}

function loadAuth(ns: Namespace, raw: unknown, at: Path, fail: SeedFail): void {
  for (const [name, cfgRaw] of Object.entries(mapAt(raw, at, fail))) {
    const aAt = [...at, name];
    const cfg = mapAt(cfgRaw, aAt, fail);
    const type = String(cfg['type'] ?? name);
    const configure = AUTH_TYPES[type];
    if (!configure)
      throw fail([...aAt, 'type'], `unknown auth type "${type}"; expected approle, jwt, kubernetes or cert`);
    const path = `auth/${name.replace(/^\/+|\/+$/g, '')}`;
    const mount = newMount(path, type, null);
    configure(mount, cfg, aAt, fail);
    ns.mounts.set(path, mount);
  }
}

function loadPolicies(ns: Namespace, raw: unknown, at: Path, fail: SeedFail): void {
  for (const [name, rules] of Object.entries(mapAt(raw, at, fail))) {
    if (!Array.isArray(rules)) throw fail([...at, name], 'must be a list of {path, capabilities}');
    ns.policies.set(
      name,
      rules.map((rule, i) => {
        const rAt = [...at, name, i];
        if (!isRecord(rule) || typeof rule['path'] !== 'string') throw fail(rAt, 'needs a string `path`');
        const caps = strList(rule['capabilities']);
        if (!caps) throw fail([...rAt, 'capabilities'], 'must be a list');
        const bad = caps.find((c) => !isCapability(c));
        if (bad) throw fail([...rAt, 'capabilities'], `unknown capability "${bad}"`);
        return { path: rule['path'].replace(/^\/+/, ''), capabilities: caps };
      }),
    );
  }
}

function loadKv(st: VaultState, ns: Namespace, raw: unknown, at: Path, fail: SeedFail): void {
  for (const [key, value] of Object.entries(mapAt(raw, at, fail))) {
    const kAt = [...at, key];
    const path = key.replace(/^\/+/, '');
    const found = findMount(ns, path);
    if (found?.mount.type !== 'kv' || found.rest === '') {
      throw fail(kAt, 'does not name a secret under a kv mount');
    }
    const kv = kvState(found.mount);
    const versions = Array.isArray(value) ? value : [value];
    versions.forEach((v, i) => {
      if (!isRecord(v))
        throw fail(Array.isArray(value) ? [...kAt, i] : kAt, 'must be a mapping of keys to values');
      if (kv.version === 1 && Array.isArray(value)) throw fail(kAt, 'kv v1 keeps one version; use a mapping');
      if (kv.version === 1) kv.v1.set(found.rest, { ...v });
      else putVersion(kv, found.rest, { ...v }, st.now());
    });
  }
}

function loadTokens(st: VaultState, ns: Namespace, raw: unknown, at: Path, fail: SeedFail): void {
  if (raw === undefined) return;
  if (!Array.isArray(raw)) throw fail(at, 'must be a list of tokens');
  raw.forEach((t, i) => {
    const tAt = [...at, i];
    if (!isRecord(t) || typeof t['id'] !== 'string') throw fail(tAt, 'needs a string `id`');
    const ttl = parseDuration(t['ttl'] ?? 0);
    if (ttl === undefined) throw fail([...tAt, 'ttl'], 'must be seconds or a duration like "1h"');
    issueToken(st, ns, {
      id: t['id'],
      policies: strList(t['policies'] ?? []) ?? [],
      ttl,
      explicitMaxTtl: parseDuration(t['explicit_max_ttl'] ?? 0) ?? 0,
      period: parseDuration(t['period'] ?? 0) ?? 0,
      renewable: t['renewable'] !== false,
      numUses: Number(t['num_uses'] ?? 0) || 0,
      meta: isRecord(t['meta']) ? (t['meta'] as Record<string, string>) : null,
      path: 'auth/token/create',
    });
  });
}

function loadNamespace(
  st: VaultState,
  ns: Namespace,
  cfg: Record<string, unknown>,
  at: Path,
  fail: SeedFail,
): void {
  for (const key of Object.keys(cfg)) {
    if (!NS_KEYS.has(key) && !(key === 'root_token' && ns.parent === undefined))
      throw fail([...at, key], 'unknown key');
  }
  loadMounts(st, ns, cfg['mounts'], [...at, 'mounts'], fail);
  loadAuth(ns, cfg['auth'], [...at, 'auth'], fail);
  loadPolicies(ns, cfg['policies'], [...at, 'policies'], fail);
  loadKv(st, ns, cfg['kv'], [...at, 'kv'], fail);
  loadTokens(st, ns, cfg['tokens'], [...at, 'tokens'], fail);
  for (const [name, child] of Object.entries(mapAt(cfg['namespaces'], [...at, 'namespaces'], fail))) {
    const clean = name.replace(/^\/+|\/+$/g, '');
    if (clean === '' || clean.includes('/'))
      throw fail([...at, 'namespaces', name], 'must be one path segment; nest namespaces instead');
    const childNs = newNamespace(`${ns.path}${clean}/`, ns);
    ns.children.set(clean, childNs);
    loadNamespace(
      st,
      childNs,
      mapAt(child, [...at, 'namespaces', name], fail),
      [...at, 'namespaces', name],
      fail,
    );
  }
}

/**
 * Loads the `vault:` seed section into the store and mints the root token. Without a seed the
 * server looks like `vault server -dev`: `secret/` is KV v2.
 */
export function applySeed(st: VaultState, seed: Seed | undefined, rootTokenOpt: string | undefined): string {
  const fail: SeedFail = (path, message) => (seed ? seed.error(path, message) : new SeedError(message));
  const raw = seed?.data['vault'];
  const cfg = mapAt(raw, ['vault'], fail);
  if (cfg['root_token'] !== undefined && typeof cfg['root_token'] !== 'string') {
    throw fail(['vault', 'root_token'], 'must be a string');
  }
  st.root.mounts.set('secret', newMount('secret', 'kv', { version: '2' }));
  loadNamespace(st, st.root, cfg, ['vault'], fail);
  const rootToken = rootTokenOpt ?? (cfg['root_token'] as string | undefined) ?? newTokenId();
  issueToken(st, st.root, {
    id: rootToken,
    policies: ['root'],
    ttl: 0,
    path: 'auth/token/root',
    orphan: true,
    displayName: 'root',
  });
  return rootToken;
}
