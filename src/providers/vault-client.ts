import { createPrivateKey, X509Certificate } from 'node:crypto';
import { constants as fsConstants, readdirSync, readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { join } from 'node:path';
import nodeVault from 'node-vault';
import {
  ConfigError,
  type ErrorDetails,
  InternalError,
  NotFoundError,
  PermissionError,
  SecrunError,
  UnavailableError,
} from '../errors.ts';
import type { Logger } from '../log.ts';
import { parseRetryAfter, type RetryDecision, withRetry } from '../retry.ts';

// ---------------------------------------------------------------------------------------------
// Settings: VAULT_* variables as the vault CLI reads them
// ---------------------------------------------------------------------------------------------

/** TLS material and policy for the Vault connection (paths, not contents). */
export interface VaultTlsSettings {
  /** `VAULT_CACERT`: PEM file with the CA(s) to trust instead of the system roots. */
  caCert?: string;
  /** `VAULT_CACERT_BYTES`: inline PEM. */
  caCertBytes?: string;
  /** `VAULT_CAPATH`: directory of PEM files. */
  caPath?: string;
  /** `VAULT_CLIENT_CERT` / `VAULT_CLIENT_KEY`: both or neither. */
  clientCert?: string;
  clientKey?: string;
  /** `VAULT_TLS_SERVER_NAME`: SNI and the name the certificate is checked against. */
  serverName?: string;
  /** `VAULT_SKIP_VERIFY`, parsed as a boolean. */
  skipVerify: boolean;
}

/** Everything the transport needs, parsed and validated; no secrets. */
export interface VaultSettings {
  /** Base URL without a trailing slash, e.g. `https://127.0.0.1:8200`. */
  address: string;
  namespace?: string;
  /** Per-request timeout (whole request, body included). */
  timeoutMs: number;
  /** Retries after the first try. */
  maxRetries: number;
  tls: VaultTlsSettings;
  /** Whether plain http to a non-loopback host was explicitly allowed. */
  allowInsecureHttp: boolean;
}

/** Values from the config file or flags; each wins over its `VAULT_*` variable. */
export interface VaultSettingsOverrides {
  address?: string;
  namespace?: string;
  timeoutMs?: number;
  maxRetries?: number;
  tls?: {
    ca?: string;
    caPath?: string;
    cert?: string;
    key?: string;
    serverName?: string;
    skipVerify?: boolean;
  };
  allowInsecureHttp?: boolean;
}

/** The vault CLI default; node-vault's own default is plain http, which we never use. */
export const DEFAULT_VAULT_ADDR = 'https://127.0.0.1:8200';
/** Per-request timeout when `VAULT_CLIENT_TIMEOUT` is not set (the Go client's default). */
export const DEFAULT_TIMEOUT_MS = 60_000;
/** Retries when `VAULT_MAX_RETRIES` is not set: four tries fit in the default boot deadline. */
export const DEFAULT_MAX_RETRIES = 3;

/**
 * Reads the `VAULT_*` variables from `env` (never from `process.env`) and applies overrides.
 * Throws ConfigError naming the variable for junk values, a bad address, or plain http to a
 * non-loopback host without `allowInsecureHttp`.
 */
export function readVaultSettings(
  env: Record<string, string | undefined>,
  overrides: VaultSettingsOverrides = {},
): VaultSettings {
  const get = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const skipEnv = get('VAULT_SKIP_VERIFY');
  const timeoutEnv = get('VAULT_CLIENT_TIMEOUT');
  const retriesEnv = get('VAULT_MAX_RETRIES');
  const allowInsecureHttp = overrides.allowInsecureHttp ?? false;
  const address = parseAddress(
    overrides.address ?? get('VAULT_ADDR') ?? DEFAULT_VAULT_ADDR,
    overrides.address ? 'vault.address' : 'VAULT_ADDR',
    allowInsecureHttp,
  );
  const t = overrides.tls ?? {};
  const tls: VaultTlsSettings = {
    caCert: t.ca ?? get('VAULT_CACERT'),
    caCertBytes: t.ca || t.caPath ? undefined : get('VAULT_CACERT_BYTES'),
    caPath: t.caPath ?? get('VAULT_CAPATH'),
    clientCert: t.cert ?? get('VAULT_CLIENT_CERT'),
    clientKey: t.key ?? get('VAULT_CLIENT_KEY'),
    serverName: t.serverName ?? get('VAULT_TLS_SERVER_NAME'),
    skipVerify: t.skipVerify ?? (skipEnv === undefined ? false : parseGoBool(skipEnv, 'VAULT_SKIP_VERIFY')),
  };
  if (Boolean(tls.clientCert) !== Boolean(tls.clientKey)) {
    throw new ConfigError(
      'VAULT_CLIENT_CERT and VAULT_CLIENT_KEY must be set together (a client certificate needs its key)',
      'vault.clientCert',
    );
  }
  return {
    address,
    namespace: overrides.namespace ?? get('VAULT_NAMESPACE'),
    timeoutMs:
      overrides.timeoutMs ??
      (timeoutEnv === undefined ? DEFAULT_TIMEOUT_MS : parseDurationMs(timeoutEnv, 'VAULT_CLIENT_TIMEOUT')),
    maxRetries:
      overrides.maxRetries ??
      (retriesEnv === undefined ? DEFAULT_MAX_RETRIES : parseUint(retriesEnv, 'VAULT_MAX_RETRIES')),
    tls,
    allowInsecureHttp,
  };
}

/** Parses a boolean as Go's `strconv.ParseBool` does; anything else is a ConfigError. */
export function parseGoBool(value: string, name: string): boolean {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(value)) return false;
  throw new ConfigError(`${name} must be a boolean (true/false/1/0), got "${value}"`, 'vault.badEnv', {
    variable: name,
  });
}

const durationUnits: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** Parses `30` (seconds) or a Go duration (`30s`, `1m30s`, `500ms`) into ms; must be > 0. */
export function parseDurationMs(value: string, name: string): number {
  const bad = () =>
    new ConfigError(`${name} must be a duration like 30 or 30s or 1m, got "${value}"`, 'vault.badEnv', {
      variable: name,
    });
  let ms: number;
  if (/^\d+$/.test(value)) {
    ms = Number(value) * 1000;
  } else {
    if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h|d))+$/.test(value)) throw bad();
    ms = 0;
    for (const m of value.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d)/g)) {
      ms += Number(m[1]) * (durationUnits[m[2] ?? ''] ?? 0);
    }
  }
  if (!(ms >= 1) || !Number.isFinite(ms)) throw bad();
  return Math.round(ms);
}

function parseUint(value: string, name: string): number {
  if (!/^\d{1,4}$/.test(value)) {
    throw new ConfigError(`${name} must be a whole number, got "${value}"`, 'vault.badEnv', {
      variable: name,
    });
  }
  return Number(value);
}

/** True for `localhost`, 127.0.0.0/8 and ::1. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1';
  return false;
}

function parseAddress(raw: string, name: string, allowInsecureHttp: boolean): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name} is not a valid URL: "${raw}"`, 'vault.badAddress', { variable: name });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError(
      `${name} must be an http:// or https:// address (unix sockets are not supported), got ${url.protocol}`,
      'vault.badAddress',
      { variable: name },
    );
  }
  if (url.username || url.password) {
    throw new ConfigError(`${name} must not contain credentials`, 'vault.badAddress', { variable: name });
  }
  if (url.search || url.hash) {
    throw new ConfigError(`${name} must not have a query or fragment`, 'vault.badAddress', {
      variable: name,
    });
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname) && !allowInsecureHttp) {
    throw new ConfigError(
      `refusing plain http to ${url.host}: the Vault token would cross the network unencrypted; ` +
        'use https, or allow it explicitly with --allow-insecure-http',
      'vault.insecureHttp',
      { variable: name },
    );
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

// ---------------------------------------------------------------------------------------------
// TLS
// ---------------------------------------------------------------------------------------------

/** Reads files; injectable for tests. */
export interface TlsFileReader {
  readFile(path: string): Buffer;
  readDir(path: string): string[];
  /** File mode bits, or undefined when unknown. */
  mode(path: string): number | undefined;
}

const realFiles: TlsFileReader = {
  readFile: (p) => readFileSync(p),
  readDir: (p) => readdirSync(p),
  mode: (p) => {
    try {
      return statSync(p).mode;
    } catch {
      return undefined;
    }
  },
};

/** A certificate file in use, kept so `secrun check` can report its expiry. */
export interface TlsCertSource {
  role: 'ca' | 'client';
  /** The file (or `VAULT_CACERT_BYTES`). */
  file: string;
  pem: Buffer;
}

/** The agent options plus the certificates they were built from. */
export interface TlsMaterial {
  options: https.AgentOptions;
  certs: TlsCertSource[];
}

/**
 * Builds the https.Agent options: verification on unless `skipVerify`, TLS ≥ 1.2, custom CA,
 * client certificate and SNI. Every option is explicit so neither node-vault's reading of
 * `process.env.VAULT_SKIP_VERIFY` nor `NODE_TLS_REJECT_UNAUTHORIZED` can change it.
 */
export function buildTlsOptions(
  tls: VaultTlsSettings,
  logger?: Logger,
  files: TlsFileReader = realFiles,
): https.AgentOptions {
  return loadTlsMaterial(tls, logger, files).options;
}

/** {@link buildTlsOptions}, also returning the certificate files it loaded. */
export function loadTlsMaterial(
  tls: VaultTlsSettings,
  logger?: Logger,
  files: TlsFileReader = realFiles,
): TlsMaterial {
  const load = (path: string, what: string): Buffer => {
    try {
      return files.readFile(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw new ConfigError(`cannot read ${what} ${path} (${code})`, 'vault.tlsFile', { path });
    }
  };
  const opts: https.AgentOptions = {
    keepAlive: true,
    minVersion: 'TLSv1.2',
    rejectUnauthorized: !tls.skipVerify,
  };
  const certs: TlsCertSource[] = [];
  const ca: Buffer[] = [];
  const addCa = (file: string, pem: Buffer) => {
    ca.push(pem);
    certs.push({ role: 'ca', file, pem });
  };
  if (tls.caCert) addCa(tls.caCert, load(tls.caCert, 'VAULT_CACERT'));
  else if (tls.caCertBytes) addCa('VAULT_CACERT_BYTES', Buffer.from(tls.caCertBytes));
  else if (tls.caPath) {
    let names: string[];
    try {
      names = files.readDir(tls.caPath).sort();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw new ConfigError(`cannot read VAULT_CAPATH ${tls.caPath} (${code})`, 'vault.tlsFile', {
        path: tls.caPath,
      });
    }
    for (const n of names) {
      if (/\.(pem|crt|cer)$/i.test(n)) {
        const file = join(tls.caPath, n);
        addCa(file, load(file, 'VAULT_CAPATH file'));
      }
    }
    if (ca.length === 0) {
      throw new ConfigError(`VAULT_CAPATH ${tls.caPath} holds no .pem/.crt files`, 'vault.tlsFile', {
        path: tls.caPath,
      });
    }
  }
  if (ca.length > 0) opts.ca = ca;
  if (tls.clientCert && tls.clientKey) {
    opts.cert = load(tls.clientCert, 'VAULT_CLIENT_CERT');
    opts.key = load(tls.clientKey, 'VAULT_CLIENT_KEY');
    certs.push({ role: 'client', file: tls.clientCert, pem: opts.cert });
    const mode = files.mode(tls.clientKey);
    if (mode !== undefined && (mode & (fsConstants.S_IRWXG | fsConstants.S_IRWXO)) !== 0) {
      logger?.warn('the Vault client key is readable by other users; chmod 600 it', { path: tls.clientKey });
    }
  }
  if (tls.serverName) opts.servername = tls.serverName;
  if (tls.skipVerify) {
    logger?.warn(
      'TLS VERIFICATION IS OFF for Vault (VAULT_SKIP_VERIFY / vault.tls.skip_verify): anyone on the network ' +
        'path can impersonate Vault and take the token; use VAULT_CACERT instead',
    );
  }
  return { options: opts, certs };
}

/**
 * Checks that the client certificate and key parse and belong together, before any request. A
 * ConfigError names the file, never its contents. Encrypted keys are not supported.
 */
export function checkClientPair(tls: VaultTlsSettings, cert: Buffer, key: Buffer): void {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch {
    throw new ConfigError(`VAULT_CLIENT_CERT ${tls.clientCert} is not a PEM certificate`, 'vault.tlsFile', {
      path: tls.clientCert,
    });
  }
  let privateKey: ReturnType<typeof createPrivateKey>;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw new ConfigError(
      `VAULT_CLIENT_KEY ${tls.clientKey} is not an unencrypted PEM private key`,
      'vault.tlsFile',
      { path: tls.clientKey },
    );
  }
  if (!x509.checkPrivateKey(privateKey)) {
    throw new ConfigError(
      `VAULT_CLIENT_KEY ${tls.clientKey} does not belong to VAULT_CLIENT_CERT ${tls.clientCert}`,
      'vault.tlsFile',
      { path: tls.clientKey },
    );
  }
}

/** Expiry facts about one certificate in use (`secrun check`). */
export interface VaultCertFact {
  role: 'ca' | 'client';
  file: string;
  subject: string;
  /** ISO time. */
  notAfter: string;
  /** Whole days until `notAfter` (negative once expired). */
  daysLeft: number;
}

/** Parses every certificate in the sources (CA bundles hold several); unparsable blocks are skipped. */
export function certificateFacts(sources: readonly TlsCertSource[], now: Date): VaultCertFact[] {
  const out: VaultCertFact[] = [];
  for (const src of sources) {
    const blocks = src.pem
      .toString('utf8')
      .match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g);
    for (const block of blocks ?? []) {
      let cert: X509Certificate;
      try {
        cert = new X509Certificate(block);
      } catch {
        continue;
      }
      const notAfter = new Date(cert.validTo);
      if (Number.isNaN(notAfter.getTime())) continue;
      out.push({
        role: src.role,
        file: src.file,
        subject: cert.subject.split('\n').join(', '),
        notAfter: notAfter.toISOString(),
        daysLeft: Math.floor((notAfter.getTime() - now.getTime()) / 86_400_000),
      });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Raw errors (internal; mapped to SecrunError at the provider boundary)
// ---------------------------------------------------------------------------------------------

/** What went wrong below HTTP. */
export type TransportKind = 'connection' | 'timeout' | 'tls' | 'abort' | 'redirect' | 'protocol';

/**
 * A failure below HTTP. Built by us from the socket error's code and our own words: it holds no
 * request options, headers or bodies.
 */
export class VaultTransportError extends Error {
  readonly kind: TransportKind;
  readonly code: string;
  /** For TLS failures: OpenSSL's reason (`tlsv1 alert protocol version`), when it gave one. */
  readonly reason?: string;

  constructor(kind: TransportKind, code: string, message: string, reason?: string) {
    super(message);
    this.name = 'VaultTransportError';
    this.kind = kind;
    this.code = code;
    if (reason) this.reason = reason;
  }
}

/** KV v2 metadata that a 404 envelope carries for a deleted or destroyed version. */
export interface KvVersionState {
  version?: number;
  deletionTime?: string;
  destroyed?: boolean;
}

/**
 * A non-2xx answer from Vault. Keeps only what may be printed: the status, Vault's error texts,
 * warnings, the request id, and KV version metadata. Never the body.
 */
export class VaultHttpError extends Error {
  readonly status: number;
  readonly errors: string[];
  readonly warnings: string[];
  readonly requestId?: string;
  readonly kv?: KvVersionState;
  readonly retryAfterMs?: number;

  constructor(
    status: number,
    info: {
      errors?: string[];
      warnings?: string[];
      requestId?: string;
      kv?: KvVersionState;
      retryAfterMs?: number;
    } = {},
  ) {
    const first = info.errors?.[0];
    super(first ? `Vault returned ${status}: ${first}` : `Vault returned ${status}`);
    this.name = 'VaultHttpError';
    this.status = status;
    this.errors = info.errors ?? [];
    this.warnings = info.warnings ?? [];
    if (info.requestId) this.requestId = info.requestId;
    if (info.kv) this.kv = info.kv;
    if (info.retryAfterMs !== undefined) this.retryAfterMs = info.retryAfterMs;
  }
}

/** Turns `1 error occurred:\n\t* permission denied\n\n` into `permission denied`; caps length. */
export function cleanVaultMessage(text: string): string {
  let out = text;
  const multi = /^\s*\d+ errors? occurred:\s*([\s\S]*)$/.exec(out);
  if (multi) {
    const items = (multi[1] ?? '')
      .split('\n')
      .map((l) => l.replace(/^\s*\*\s?/, '').trim())
      .filter(Boolean);
    out = items.join('; ');
  }
  out = out.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return out.length > 300 ? `${out.slice(0, 297)}...` : out;
}

const UPGRADING = 'Upgrading from non-versioned to versioned data';

const tlsCodes = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'INVALID_CA',
  'HOSTNAME_MISMATCH',
  'EPROTO',
]);

function isTlsCode(code: string): boolean {
  return tlsCodes.has(code) || /^(CERT_|ERR_TLS_|ERR_SSL_)/.test(code);
}

const connectionWords: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection closed',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'DNS lookup failed',
};

/**
 * Retry policy (reference §6): connection errors and timeouts, 412, 429, 5xx except 501, and
 * the KV "upgrading" 400. Never other 4xx, TLS failures, refused redirects or aborts.
 */
export function classifyVaultError(err: unknown): RetryDecision {
  if (err instanceof VaultTransportError) {
    return { retry: err.kind === 'connection' || err.kind === 'timeout' };
  }
  if (err instanceof VaultHttpError) {
    const s = err.status;
    const after = err.retryAfterMs;
    const withAfter = (d: RetryDecision): RetryDecision =>
      after === undefined ? d : { ...d, afterMs: after };
    if (s === 412 || s === 429 || (s >= 500 && s !== 501)) return withAfter({ retry: true });
    if (s === 400 && err.errors.some((e) => e.includes(UPGRADING))) return { retry: true };
    return { retry: false };
  }
  return { retry: false };
}

/** Where an error happened, for its message and details. */
export interface ErrorContext {
  /** The Vault path as the user wrote it. */
  path?: string;
  address: string;
  timeoutMs: number;
}

/** What to do about a TLS failure, by Node's error code and OpenSSL's reason. */
function tlsHint(code: string, reason: string): string {
  const r = reason.toLowerCase();
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID' || code === 'HOSTNAME_MISMATCH') {
    return (
      'the Vault server certificate does not name this host: set VAULT_TLS_SERVER_NAME to a name the ' +
      'certificate holds (or use that name in VAULT_ADDR), and check that VAULT_CACERT is the right CA'
    );
  }
  if (code === 'CERT_HAS_EXPIRED') {
    return 'the Vault server certificate has expired (or this clock is wrong); renew the certificate';
  }
  if (code === 'CERT_NOT_YET_VALID') {
    return 'the Vault server certificate is not valid yet; check this clock';
  }
  if (code === 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' || r.includes('certificate required')) {
    return 'Vault requires a client certificate: set VAULT_CLIENT_CERT and VAULT_CLIENT_KEY';
  }
  if (
    r.includes('protocol version') ||
    code === 'ERR_SSL_UNSUPPORTED_PROTOCOL' ||
    code === 'ERR_SSL_NO_PROTOCOLS_AVAILABLE'
  ) {
    return 'the server does not offer TLS 1.2 or newer, the minimum secrun accepts';
  }
  if (r.includes('handshake failure')) {
    return (
      'the server refused the handshake; if Vault requires a client certificate set VAULT_CLIENT_CERT ' +
      'and VAULT_CLIENT_KEY'
    );
  }
  if (r.includes('unknown ca') || r.includes('bad certificate') || r.includes('certificate expired')) {
    return 'Vault rejected the client certificate (VAULT_CLIENT_CERT): is it signed by a CA Vault trusts and unexpired?';
  }
  if (/^(CERT_|ERR_TLS_)|SELF_SIGNED|UNABLE_TO|INVALID_CA/.test(code)) {
    return 'set VAULT_CACERT (or VAULT_CAPATH) to the CA that signed the Vault server certificate';
  }
  return 'check VAULT_CACERT, VAULT_TLS_SERVER_NAME and VAULT_CLIENT_CERT';
}

function fmtSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(1)}s`;
}

/**
 * Maps anything the transport or node-vault can throw to a typed SecrunError. Copies only the
 * status, Vault's cleaned error text, path and request id: never the raw error as `cause`,
 * because axios-style errors carry the token and the request body.
 */
export function mapVaultError(err: unknown, ctx: ErrorContext): SecrunError {
  if (err instanceof SecrunError) return err;
  const base: ErrorDetails = {};
  if (ctx.path !== undefined) base.path = ctx.path;
  if (err instanceof VaultTransportError) {
    const details = { ...base, cause: err.code };
    switch (err.kind) {
      case 'timeout':
        return new UnavailableError(
          `timed out after ${fmtSeconds(ctx.timeoutMs)} waiting for ${ctx.address}`,
          'vault.timeout',
          details,
        );
      case 'tls': {
        const why = err.reason ? `${err.code}: ${err.reason}` : err.code;
        return new UnavailableError(
          `TLS handshake with ${ctx.address} failed (${why}); ${tlsHint(err.code, err.reason ?? '')}`,
          'vault.tls',
          err.reason ? { ...details, reason: err.reason } : details,
        );
      }
      case 'abort':
        return new UnavailableError(`gave up: ${err.message}`, 'provider.deadline', details);
      case 'redirect':
        return new UnavailableError(err.message, 'vault.redirect', details);
      case 'protocol':
        return new UnavailableError(`${err.message} from ${ctx.address}`, 'vault.badResponse', details);
      default: {
        const words = connectionWords[err.code] ?? `connection failed (${err.code})`;
        const to = err.code === 'ECONNRESET' || err.code === 'EPIPE' ? 'by' : 'to';
        return new UnavailableError(`${words} ${to} ${ctx.address}`, 'vault.unavailable', details);
      }
    }
  }
  if (err instanceof VaultHttpError) {
    const s = err.status;
    const text = err.errors[0];
    const details: ErrorDetails = { ...base, status: s };
    if (err.requestId) details.requestId = err.requestId;
    if (text) details.vaultError = text;
    const suffix = text ? `: ${text}` : '';
    if (s === 404) {
      const hint = err.warnings[0] ? ` (${err.warnings[0]})` : '';
      return new NotFoundError(`secret not found at ${ctx.path ?? 'path'}${hint}`, 'vault.notFound', details);
    }
    if (s === 403) {
      const extra =
        text && text !== 'permission denied' ? `: ${text.replace(/^permission denied;?\s*/, '')}` : '';
      const at = ctx.path ? ` at ${ctx.path}` : '';
      return new PermissionError(`permission denied (403)${at}${extra}`, 'vault.permission', details);
    }
    if (s === 503 && text?.includes('sealed')) {
      return new UnavailableError(`Vault is sealed (503) at ${ctx.address}`, 'vault.sealed', details);
    }
    if (s === 501) {
      return new UnavailableError(
        `Vault is not initialized (501) at ${ctx.address}`,
        'vault.unavailable',
        details,
      );
    }
    if (s === 400 && text?.includes(UPGRADING)) {
      return new UnavailableError(`KV mount is upgrading (400)${suffix}`, 'vault.unavailable', details);
    }
    if (s === 412 || s === 429 || s >= 500) {
      const what = s === 429 ? 'rate limited' : s === 412 ? 'not yet consistent' : 'server error';
      return new UnavailableError(`${what} (${s}) at ${ctx.address}${suffix}`, 'vault.unavailable', details);
    }
    if (s >= 300 && s < 400) {
      return new UnavailableError(
        `unexpected redirect (${s}) from ${ctx.address}`,
        'vault.redirect',
        details,
      );
    }
    return new NotFoundError(`bad request (${s})${suffix}`, 'vault.badRequest', details);
  }
  const name = err instanceof Error ? err.name : typeof err;
  return new InternalError(`internal error talking to Vault (${name})`, 'vault.internal', base);
}

// ---------------------------------------------------------------------------------------------
// Transport: our own HTTP under node-vault (no redirects, timeout, AbortSignal)
// ---------------------------------------------------------------------------------------------

/** Per-request state shared between a call and the transport (passed through node-vault). */
interface CallState {
  signal?: AbortSignal;
  noToken?: boolean;
  retryAfter?: string;
}

interface RpOptions {
  method: string;
  uri: string;
  headers?: Record<string, string>;
  json?: unknown;
  secrunCall?: CallState;
}

interface RpResponse {
  statusCode: number;
  body: unknown;
  request: { path: string };
}

const MAX_BODY = 32 * 1024 * 1024;

interface SendResult {
  status: number;
  location?: string;
  body: unknown;
}

/**
 * HTTP for node-vault, injected through its `request-promise` option. node-vault 0.12 hands
 * neither `signal` nor `maxRedirects` to axios and builds its own agent from
 * `process.env.VAULT_SKIP_VERIFY`; this transport replaces that layer so the agent, the timeout,
 * the deadline and redirects are ours.
 */
class HttpTransport {
  readonly #settings: VaultSettings;
  readonly #base: URL;
  readonly #agent: http.Agent;

  constructor(settings: VaultSettings, tlsOptions: https.AgentOptions, lookup?: LookupFunction) {
    this.#settings = settings;
    this.#base = new URL(settings.address);
    const extra = lookup ? { lookup } : {};
    this.#agent =
      this.#base.protocol === 'https:'
        ? new https.Agent({ ...tlsOptions, ...extra })
        : new http.Agent({ keepAlive: true, ...extra });
  }

  /** The agent (tests inspect its options). */
  get agent(): http.Agent {
    return this.#agent;
  }

  close(): void {
    this.#agent.destroy();
  }

  async send(options: RpOptions): Promise<RpResponse> {
    const call = options.secrunCall ?? {};
    const headers: Record<string, string> = {
      accept: 'application/json',
      'user-agent': 'secrun',
      'x-vault-request': 'true',
    };
    for (const [k, v] of Object.entries(options.headers ?? {})) {
      if (typeof v === 'string') headers[k.toLowerCase()] = v;
    }
    if (call.noToken) delete headers['x-vault-token'];
    let payload: Buffer | undefined;
    if (options.json !== undefined && options.json !== null && typeof options.json === 'object') {
      payload = Buffer.from(JSON.stringify(options.json));
      headers['content-type'] = headers['content-type'] ?? 'application/json';
    }
    let url = new URL(options.uri);
    for (let hop = 0; ; hop++) {
      const res = await this.#sendOnce(url, options.method, headers, payload, call);
      if (![301, 302, 303, 307, 308].includes(res.status)) {
        return { statusCode: res.status, body: res.body, request: { path: url.pathname } };
      }
      url = this.#redirectTarget(url, res, hop);
    }
  }

  /** Follows one redirect, same scheme and same host only (a standby pointing at the leader). */
  #redirectTarget(from: URL, res: SendResult, hop: number): URL {
    if (hop > 0) {
      throw new VaultTransportError('redirect', 'TOO_MANY_REDIRECTS', `Vault redirected more than once`);
    }
    let target: URL;
    try {
      target = new URL(res.location ?? '', from);
    } catch {
      throw new VaultTransportError(
        'redirect',
        'BAD_LOCATION',
        `Vault sent a ${res.status} with a bad Location`,
      );
    }
    if (!res.location || target.protocol !== this.#base.protocol) {
      throw new VaultTransportError(
        'redirect',
        'REDIRECT_SCHEME',
        `refused to follow a ${res.status} redirect from ${this.#base.origin} to another scheme ` +
          `(${target.protocol.replace(':', '')}); the token was not sent`,
      );
    }
    if (target.hostname.toLowerCase() !== this.#base.hostname.toLowerCase()) {
      throw new VaultTransportError(
        'redirect',
        'REDIRECT_HOST',
        `refused to follow a ${res.status} redirect from ${this.#base.host} to ${target.host}; ` +
          'the token was not sent; point VAULT_ADDR at the active node',
      );
    }
    return target;
  }

  #sendOnce(
    url: URL,
    method: string,
    headers: Record<string, string>,
    payload: Buffer | undefined,
    call: CallState,
  ): Promise<SendResult> {
    const signal = call.signal;
    const timeoutMs = this.#settings.timeoutMs;
    return new Promise<SendResult>((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortError(signal));
        return;
      }
      const lib = url.protocol === 'https:' ? https : http;
      const h = payload ? { ...headers, 'content-length': String(payload.length) } : headers;
      let settled = false;
      const finish = (err: Error | undefined, result?: SendResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(result as SendResult);
      };
      const req = lib.request(url, { method, headers: h, agent: this.#agent });
      const onAbort = () => {
        const e = abortError(signal);
        req.destroy(e);
        finish(e);
      };
      const timer = setTimeout(() => {
        const e = new VaultTransportError('timeout', 'ETIMEDOUT', `timed out after ${fmtSeconds(timeoutMs)}`);
        req.destroy(e);
        finish(e);
      }, timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      req.on('error', (err) => finish(err instanceof VaultTransportError ? err : socketError(err)));
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY) {
            const e = new VaultTransportError('protocol', 'BODY_TOO_LARGE', 'response body too large');
            req.destroy(e);
            finish(e);
            return;
          }
          chunks.push(c);
        });
        res.on('error', (err) => finish(socketError(err)));
        res.on('close', () => {
          if (!res.complete) finish(new VaultTransportError('connection', 'ECONNRESET', 'connection reset'));
        });
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const retryAfter = res.headers['retry-after'];
          if (typeof retryAfter === 'string') call.retryAfter = retryAfter;
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          if (text.trim() !== '') {
            try {
              body = JSON.parse(text);
            } catch {
              body = text;
            }
          }
          const location = res.headers.location;
          finish(undefined, { status, body, ...(location ? { location } : {}) });
        });
      });
      req.end(payload);
    });
  }
}

function abortError(signal: AbortSignal | undefined): VaultTransportError {
  const reason = signal?.reason;
  const why =
    reason instanceof Error && reason.name !== 'AbortError' && reason.name !== 'TimeoutError'
      ? reason.message
      : 'deadline exceeded';
  return new VaultTransportError('abort', 'ABORTED', why);
}

function socketError(err: Error): VaultTransportError {
  const code = (err as NodeJS.ErrnoException).code ?? 'ECONNRESET';
  if (isTlsCode(code)) {
    // OpenSSL's reason ("tlsv1 alert protocol version"): library text, never request data.
    const reason = /SSL routines:[^:]*:([^:]{1,80})/.exec(err.message)?.[1]?.trim();
    return new VaultTransportError('tls', code, `TLS failure (${code})`, reason);
  }
  return new VaultTransportError('connection', code, connectionWords[code] ?? `connection failed (${code})`);
}

// ---------------------------------------------------------------------------------------------
// The client
// ---------------------------------------------------------------------------------------------

/** One Vault API call. `path` has no leading slash and no `/v1`. */
export interface VaultRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  /** Appended as a query string (values URL-encoded). */
  query?: Record<string, string>;
  body?: Record<string, unknown>;
  signal?: AbortSignal;
  /** Send no token (logins). */
  noToken?: boolean;
  /** Send this token instead of the session's (unwrapping). */
  token?: string;
  /**
   * `false`: exactly one attempt, whatever the failure (single-use operations such as unwrapping,
   * where a retry after a lost answer would only burn the token again).
   */
  retry?: false;
}

/** The parts of a Vault response envelope the agent uses. */
export interface VaultEnvelope {
  request_id?: string;
  lease_id?: string;
  lease_duration?: number;
  renewable?: boolean;
  data?: unknown;
  warnings?: string[] | null;
  auth?: Record<string, unknown> | null;
  wrap_info?: Record<string, unknown> | null;
  [key: string]: unknown;
}

/** Options for {@link VaultClient}. */
export interface VaultClientOptions {
  logger: Logger;
  /** Backoff tuning (tests): first ceiling and cap in ms, random source. */
  retry?: { baseMs?: number; capMs?: number; random?: () => number };
  /** File access for TLS material (tests). */
  files?: TlsFileReader;
  /** DNS lookup for the connection (tests map a name to a local listener). */
  lookup?: LookupFunction;
}

type NodeVaultClient = ReturnType<typeof nodeVault>;

/**
 * The Vault transport: node-vault for paths, headers and response handling, our HTTP layer
 * under it, retries with full jitter, and raw errors that carry nothing secret.
 */
export class VaultClient {
  readonly settings: VaultSettings;
  readonly #logger: Logger;
  readonly #transport: HttpTransport;
  readonly #nv: NodeVaultClient;
  readonly #retry: NonNullable<VaultClientOptions['retry']>;
  readonly #tlsOptions: https.AgentOptions;
  readonly #certs: TlsCertSource[];

  constructor(settings: VaultSettings, opts: VaultClientOptions) {
    this.settings = settings;
    this.#logger = opts.logger;
    this.#retry = opts.retry ?? {};
    const material = loadTlsMaterial(settings.tls, opts.logger, opts.files);
    this.#tlsOptions = material.options;
    this.#certs = material.certs;
    const { cert, key } = material.options;
    if (Buffer.isBuffer(cert) && Buffer.isBuffer(key)) {
      checkClientPair(settings.tls, cert, key);
    }
    const base = new URL(settings.address);
    if (base.protocol === 'http:' && !isLoopbackHost(base.hostname)) {
      opts.logger.warn(
        'plain http to a non-loopback Vault (allowed by --allow-insecure-http): the token and secrets cross the network unencrypted',
        { address: settings.address },
      );
    }
    const transport = new HttpTransport(settings, this.#tlsOptions, opts.lookup);
    this.#transport = transport;
    this.#nv = nodeVault({
      endpoint: settings.address,
      namespace: settings.namespace,
      apiVersion: 'v1',
      noCustomHTTPVerbs: true,
      // node-vault's debug output includes request bodies (secret ids); never enable it.
      debug: () => undefined,
      'request-promise': { defaults: () => (o: RpOptions) => transport.send(o) },
    });
    // node-vault falls back to process.env.VAULT_* for unset values; pin every one of them.
    this.#nv.endpoint = settings.address;
    (this.#nv as unknown as { namespace: string | undefined }).namespace = settings.namespace;
    (this.#nv as unknown as { pathPrefix: string }).pathPrefix = '';
    (this.#nv as unknown as { token: string | undefined }).token = undefined;
  }

  /** The https.Agent options in use (for tests and `secrun check`); no key material is printed. */
  get tlsOptions(): Readonly<https.AgentOptions> {
    return this.#tlsOptions;
  }

  /** Expiry facts of the CA and client certificates in use (none when the system roots are used). */
  certificateFacts(now: Date = new Date()): VaultCertFact[] {
    return certificateFacts(this.#certs, now);
  }

  /** Sets the token sent as `X-Vault-Token`. */
  setToken(token: string | undefined): void {
    (this.#nv as unknown as { token: string | undefined }).token = token;
  }

  /** An ErrorContext for {@link mapVaultError}. */
  errorContext(path?: string): ErrorContext {
    return { address: this.settings.address, timeoutMs: this.settings.timeoutMs, path };
  }

  /**
   * Sends one request with retries. Resolves with the envelope (undefined for 204); rejects with
   * VaultHttpError or VaultTransportError (map them with {@link mapVaultError}).
   */
  async request(req: VaultRequest): Promise<VaultEnvelope | undefined> {
    const path = encodePath(req.path) + encodeQuery(req.query);
    return withRetry(() => this.#once(req, path), {
      maxAttempts: req.retry === false ? 1 : this.settings.maxRetries + 1,
      baseMs: this.#retry.baseMs,
      capMs: this.#retry.capMs,
      random: this.#retry.random,
      signal: req.signal,
      classify: classifyVaultError,
      onRetry: (err, attempt, waitMs) =>
        this.#logger.debug('vault request failed; retrying', {
          path: req.path,
          attempt,
          waitMs,
          reason:
            err instanceof VaultHttpError
              ? String(err.status)
              : err instanceof VaultTransportError
                ? err.code
                : 'error',
        }),
    });
  }

  async #once(req: VaultRequest, path: string): Promise<VaultEnvelope | undefined> {
    const call: CallState = { signal: req.signal, noToken: req.noToken };
    const ro: Record<string, unknown> = { secrunCall: call };
    if (req.token) ro.headers = { 'X-Vault-Token': req.token };
    let body: unknown;
    try {
      if (req.method === 'GET') body = await this.#nv.read(path, ro);
      else if (req.method === 'DELETE') body = await this.#nv.delete(path, ro);
      else
        body = await this.#nv.request({ ...ro, path: `/${path}`, method: req.method, json: req.body ?? {} });
    } catch (err) {
      throw toRawError(err, call);
    }
    if (body === '' || body === undefined || body === null) return undefined;
    if (typeof body !== 'object' || Array.isArray(body)) {
      throw new VaultTransportError('protocol', 'NOT_JSON', 'unexpected non-JSON response');
    }
    return body as VaultEnvelope;
  }

  /** Closes pooled connections. */
  close(): void {
    this.#transport.close();
  }
}

/** Encodes each path segment; refuses `.`/`..` segments (Vault would 301 them). */
export function encodePath(path: string): string {
  const trimmed = path.replace(/^\/+|\/+$/g, '');
  const segs = trimmed.split('/');
  if (trimmed === '' || segs.some((s) => s === '' || s === '.' || s === '..')) {
    throw new VaultTransportError('protocol', 'BAD_PATH', `invalid Vault path "${path}"`);
  }
  return segs.map((s) => encodeURIComponent(s)).join('/');
}

function encodeQuery(query: Record<string, string> | undefined): string {
  if (!query) return '';
  const parts = Object.entries(query).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

function toRawError(err: unknown, call: CallState): Error {
  if (err instanceof VaultTransportError) return err;
  const response = (err as { response?: { statusCode?: unknown; body?: unknown } } | null)?.response;
  if (response && typeof response.statusCode === 'number') {
    return httpErrorFrom(response.statusCode, response.body, parseRetryAfter(call.retryAfter));
  }
  const name = err instanceof Error ? err.name : typeof err;
  return new VaultTransportError('protocol', 'CLIENT_ERROR', `client error (${name})`);
}

function httpErrorFrom(status: number, body: unknown, retryAfterMs: number | undefined): VaultHttpError {
  const b = (body && typeof body === 'object' ? body : {}) as VaultEnvelope & { errors?: unknown };
  const strings = (v: unknown): string[] =>
    Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string').map(cleanVaultMessage) : [];
  let kv: KvVersionState | undefined;
  const data = b.data as { data?: unknown; metadata?: Record<string, unknown> } | null | undefined;
  const md = data && typeof data === 'object' ? data.metadata : undefined;
  if (md && typeof md === 'object') {
    kv = {};
    if (typeof md.version === 'number') kv.version = md.version;
    if (typeof md.deletion_time === 'string' && md.deletion_time !== '') kv.deletionTime = md.deletion_time;
    if (md.destroyed === true) kv.destroyed = true;
  }
  return new VaultHttpError(status, {
    errors: strings(b.errors),
    warnings: strings(b.warnings),
    requestId: typeof b.request_id === 'string' && b.request_id ? b.request_id : undefined,
    kv,
    retryAfterMs,
  });
}
