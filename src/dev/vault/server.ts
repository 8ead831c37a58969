import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { type FaultSettings, Faults } from '../faults.ts';
import { RequestLog } from '../request-log.ts';
import type { Seed } from '../seed.ts';
import { parseDuration } from './duration.ts';
import { fail, multiError, type Reply, type VaultRequest } from './http.ts';
import { acceptListVerb } from './list-verb.ts';
import { route } from './router.ts';
import { applySeed } from './seed-section.ts';
import { type Namespace, VaultState } from './state.ts';
import { parseGoBool } from './sys.ts';

export interface VaultDevServerOptions {
  /** Parsed seed; its `vault:` section (may be absent) fills the store. */
  seed?: Seed;
  /** HTTP port on the loopback host; default 0 (any free port). */
  port?: number;
  /** Loopback only (127.0.0.0/8, ::1, localhost); anything else throws. */
  host?: string;
  /**
   * Optional HTTPS listener; with `clientCa` it requests (not requires) client certificates, and
   * with `requireClientCert` too it refuses handshakes without a certificate `clientCa` signed.
   */
  https?: {
    port?: number;
    cert: string | Buffer;
    key: string | Buffer;
    clientCa?: string | Buffer;
    requireClientCert?: boolean;
  };
  /** Default: the seed's `vault.root_token`, else a random `hvs.` token. */
  rootToken?: string;
  /** Clock in ms (default Date.now); lets tests expire leases and tokens. */
  now?: () => number;
}

export interface VaultDevServer {
  url: string;
  httpsUrl?: string;
  rootToken: string;
  /** Every request except admin ones: method, path, status, namespace, duration. */
  log: RequestLog;
  faults: Faults;
  /** 503 `Vault is sealed` on everything but sys/health. */
  setSealed(sealed: boolean): void;
  /** 307 to `<activeAddr><path>?<query>` on everything but sys/health; null turns it off. */
  setStandby(activeAddr: string | null): void;
  close(): Promise<void>;
}

const MAX_BODY = 32 * 1024 * 1024;
const METHODS = new Set(['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'PATCH', 'LIST']);

function assertLoopback(host: string): void {
  if (host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)) return;
  throw new TypeError(
    `host must be a loopback address (127.0.0.0/8, ::1 or localhost), got ${JSON.stringify(host)}`,
  );
}

/** Go's path.Clean for URL paths, keeping a trailing slash (what ServeMux redirects to). */
function cleanPath(p: string): string {
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  const cleaned = `/${out.join('/')}`;
  return p.endsWith('/') && cleaned !== '/' ? `${cleaned}/` : cleaned;
}

function faultBody(path: string): (status: number) => string {
  return (status) => {
    const msg: Record<number, string> = {
      412: 'required index state not present',
      429: `request path "${path.replace(/^\/v1\//, '')}": rate limit quota exceeded`,
      500: 'internal error',
      502: 'upstream rate limited',
      503: 'overloaded, try again later',
    };
    return JSON.stringify({ errors: msg[status] ? [msg[status]] : [] });
  };
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** A JSON object or a form; anything else is Vault's "error parsing JSON" (http/logical.go). */
function parseBody(raw: Buffer, contentType: string): Record<string, unknown> | string {
  const text = raw.toString('utf8').trim();
  if (text === '' || text === 'null') return {};
  if (contentType.startsWith('application/x-www-form-urlencoded') && !/^[{[]/.test(text)) {
    return Object.fromEntries(new URLSearchParams(text));
  }
  try {
    const v = JSON.parse(text);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'error parsing JSON';
    return v as Record<string, unknown>;
  } catch {
    return 'error parsing JSON';
  }
}

function findNamespace(root: Namespace, header: string): Namespace | undefined {
  let ns: Namespace | undefined = root;
  for (const seg of header.split('/').filter(Boolean)) ns = ns?.children.get(seg);
  return ns;
}

/** Starts the in-memory Vault-compatible dev server on loopback. */
export async function startVaultServer(opts: VaultDevServerOptions = {}): Promise<VaultDevServer> {
  const host = opts.host ?? '127.0.0.1';
  assertLoopback(host);
  const st = new VaultState(opts.now ?? Date.now);
  const rootToken = applySeed(st, opts.seed, opts.rootToken);
  const log = new RequestLog();
  const faults = new Faults();

  const send = async (res: ServerResponse, reply: Reply, head: boolean): Promise<void> => {
    const headers = { 'content-type': 'application/json', 'cache-control': 'no-store', ...reply.headers };
    res.writeHead(reply.status, headers);
    if ((reply.body === undefined && reply.raw === undefined) || reply.status === 204 || head) {
      res.end();
      return;
    }
    await faults.send(res, reply.raw ?? JSON.stringify(reply.body));
  };

  const admin = async (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    if (req.headers['x-vault-token'] !== rootToken)
      return send(res, fail(403, multiError(['permission denied'])), false);
    if (path === '/__secrun/requests' && req.method === 'GET')
      return send(res, { status: 200, body: log.entries }, false);
    if (path === '/__secrun/requests' && req.method === 'DELETE') {
      log.clear();
      return send(res, { status: 204 }, false);
    }
    if (path === '/__secrun/faults' && (req.method === 'POST' || req.method === 'PUT')) {
      const raw = await readBody(req);
      const body = raw ? parseBody(raw, '') : 'body too large';
      if (typeof body === 'string') return send(res, fail(400, body), false);
      const s = body as FaultSettings & { sealed?: boolean; standby?: string | null; clear?: boolean };
      if (s.clear) {
        faults.clear();
        st.sealed = false;
        st.standby = null;
      }
      faults.set(s);
      if (s.sealed !== undefined) st.sealed = s.sealed;
      if (s.standby !== undefined) st.standby = s.standby;
      return send(res, { status: 204 }, false);
    }
    return send(res, fail(404), false);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const path = q === -1 ? rawUrl : rawUrl.slice(0, q);
    const rawQuery = q === -1 ? '' : rawUrl.slice(q + 1);
    if (path.startsWith('/__secrun/')) return admin(req, res, path);
    const started = performance.now();
    const nsHeader = req.headers['x-vault-namespace'];
    const namespace = typeof nsHeader === 'string' && nsHeader !== '' ? nsHeader : undefined;
    res.on('close', () => {
      log.add({
        time: new Date().toISOString(),
        method: req.method ?? '',
        path,
        ...(namespace ? { namespace } : {}),
        status: res.headersSent ? res.statusCode : 0,
        durationMs: Math.round((performance.now() - started) * 100) / 100,
      });
    });
    if (/\/\/|\/\.\.?(\/|$)/.test(path)) {
      const location = cleanPath(path) + (rawQuery ? `?${rawQuery}` : '');
      return send(res, { status: 301, headers: { location } }, true);
    }
    if ((await faults.before(req, res, faultBody(path))) !== undefined) return;
    const isHealth = path === '/v1/sys/health';
    if (st.sealed && !isHealth) return send(res, fail(503, 'Vault is sealed'), false);
    if (st.standby !== null && !isHealth) {
      const location = `${st.standby.replace(/\/+$/, '')}${path}${rawQuery ? `?${rawQuery}` : ''}`;
      return send(res, { status: 307, headers: { location } }, true);
    }
    const method = req.method ?? '';
    if (!METHODS.has(method)) return send(res, fail(405), false);
    if (!path.startsWith('/v1/')) return send(res, fail(404), false);
    const raw = await readBody(req);
    if (!raw) return send(res, fail(413, 'request body too large'), false);
    const contentType = String(req.headers['content-type'] ?? '');
    const query = new URLSearchParams(rawQuery);
    const body =
      method === 'GET' || method === 'HEAD' || method === 'DELETE' || method === 'LIST'
        ? {}
        : parseBody(raw, contentType);
    if (typeof body === 'string') return send(res, fail(400, body), false);
    const ns = findNamespace(st.root, namespace ?? '');
    if (!ns) return send(res, fail(404, `namespace "${namespace}" not found`), false);
    const wrapHeader = req.headers['x-vault-wrap-ttl'];
    const wrapTtl = typeof wrapHeader === 'string' ? parseDuration(wrapHeader) : undefined;
    if (typeof wrapHeader === 'string' && wrapTtl === undefined) {
      return send(res, fail(400, 'error parsing X-Vault-Wrap-TTL header'), false);
    }
    const auth = req.headers['authorization'];
    const bearer = typeof auth === 'string' && /^bearer /i.test(auth) ? auth.slice(7).trim() : undefined;
    const tokenHeader = req.headers['x-vault-token'];
    // http/logical.go: `list` goes through strconv.ParseBool (empty: a plain read), and a list
    // request's path gets a trailing slash before routing and the ACL check.
    const listParam = method === 'GET' ? (query.get('list') ?? '') : '';
    const listFlag = listParam === '' ? false : parseGoBool(listParam);
    if (listFlag === undefined) return send(res, fail(400), false);
    const list = method === 'LIST' || listFlag;
    const logicalPath = path.slice(4);
    const vreq: VaultRequest = {
      method: method === 'PUT' ? 'POST' : method === 'LIST' ? 'GET' : (method as VaultRequest['method']),
      path: list && !logicalPath.endsWith('/') ? `${logicalPath}/` : logicalPath,
      query,
      list,
      body,
      token: (typeof tokenHeader === 'string' && tokenHeader !== '' ? tokenHeader : undefined) ?? bearer,
      ns,
      wrapTtl,
      peerCert: (req.socket as TLSSocket).getPeerX509Certificate?.() ?? undefined,
      tls: (req.socket as TLSSocket).encrypted === true,
      contentType,
    };
    let reply: Reply;
    try {
      reply = route(st, vreq);
    } catch (err) {
      reply = fail(500, `internal error: ${(err as Error).message}`);
    }
    await send(res, reply, method === 'HEAD');
  };

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch(() => {
      if (!res.headersSent)
        res.writeHead(500, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end();
    });
  };

  const listen = (server: Server, port: number): Promise<number> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve((server.address() as AddressInfo).port);
      });
    });

  const urlHost = host.includes(':') ? `[${host}]` : host;
  const servers: Server[] = [];
  const http = createHttpServer(listener);
  acceptListVerb(http, listener);
  servers.push(http);
  const port = await listen(http, opts.port ?? 0);
  let httpsUrl: string | undefined;
  if (opts.https) {
    if (opts.https.requireClientCert && !opts.https.clientCa) {
      http.close();
      throw new TypeError(
        'https.requireClientCert needs https.clientCa (the CA client certificates must chain to)',
      );
    }
    const tls = createHttpsServer(
      {
        cert: opts.https.cert,
        key: opts.https.key,
        ...(opts.https.clientCa
          ? {
              ca: opts.https.clientCa,
              requestCert: true,
              rejectUnauthorized: opts.https.requireClientCert === true,
            }
          : {}),
      },
      listener,
    );
    acceptListVerb(tls, listener);
    servers.push(tls);
    try {
      httpsUrl = `https://${urlHost}:${await listen(tls, opts.https.port ?? 0)}`;
    } catch (err) {
      http.closeAllConnections();
      http.close();
      throw err;
    }
  }

  return {
    url: `http://${urlHost}:${port}`,
    ...(httpsUrl ? { httpsUrl } : {}),
    rootToken,
    log,
    faults,
    setSealed(sealed) {
      st.sealed = sealed;
    },
    setStandby(activeAddr) {
      st.standby = activeAddr;
    },
    close: () =>
      Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => resolve());
              s.closeAllConnections();
            }),
        ),
      ).then(() => undefined),
  };
}
