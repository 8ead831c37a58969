import { randomInt, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type FaultSettings, Faults } from '../faults.ts';
import { RequestLog } from '../request-log.ts';
import type { Seed } from '../seed.ts';
import { AwsError } from './aws-error.ts';
import { accessDenied, type Input, type OpContext, operations, secretIdsOf } from './operations.ts';
import { type DevCredential, generatedCredential, parseAwsSeed } from './seed-section.ts';
import { verifySigV4 } from './sigv4.ts';
import { SecretStore } from './store.ts';

export interface SecretsManagerDevServerOptions {
  /** Uses `seed.data.aws` (may be absent). */
  seed?: Seed;
  /** Default 0 (any free port). */
  port?: number;
  /** Default 127.0.0.1; only loopback addresses are accepted. */
  host?: string;
  /** Default: the seed's `aws.region`, else `us-east-1`. */
  region?: string;
  /** Clock in ms (recovery windows, timestamps, signature time window). */
  now?: () => number;
}

export interface SecretsManagerDevServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  region: string;
  /** 12 digits, used in ARNs. */
  accountId: string;
  /** The first seeded credential, or a generated one. */
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  log: RequestLog;
  faults: Faults;
  /** Adds (or with `on = false` removes) an operation on the deny list: it then answers AccessDeniedException. */
  deny(operation: string, on?: boolean): void;
  close(): Promise<void>;
}

const TARGET_PREFIX = 'secretsmanager.';
const MAX_BODY = 1024 * 1024;
const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost|::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3})$/;

/** Settings accepted by `POST /__secrun/faults`. */
export interface SecretsManagerAdminSettings extends FaultSettings {
  /** Replaces the deny list. */
  deny?: string[];
  /** Clears faults and the deny list first. */
  clear?: true;
}

/**
 * Starts an in-memory, loopback-only server speaking the Secrets Manager awsJson1_1 protocol with
 * SigV4 verification, so the real AWS SDK works against it unchanged.
 */
export async function startSecretsManagerServer(
  opts: SecretsManagerDevServerOptions = {},
): Promise<SecretsManagerDevServer> {
  const host = opts.host ?? '127.0.0.1';
  if (!LOOPBACK.test(host)) {
    throw new TypeError(
      `host must be a loopback address (127.0.0.1, ::1 or localhost), got ${JSON.stringify(host)}`,
    );
  }
  const section = parseAwsSeed(opts.seed);
  const now = opts.now ?? Date.now;
  const region = opts.region ?? section.region ?? 'us-east-1';
  const accountId = section.accountId ?? String(randomInt(100_000_000_000, 1_000_000_000_000));
  const creds: DevCredential[] =
    section.credentials.length > 0 ? section.credentials : [generatedCredential()];
  const store = new SecretStore(region, accountId, now);
  const seededAt = now();
  for (const make of section.secrets) store.add(make(store, seededAt));
  const denied = new Set(section.deny);
  const log = new RequestLog();
  const faults = new Faults();

  const handleAdmin = async (req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> => {
    const send = (status: number, payload: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(payload === undefined ? '' : JSON.stringify(payload));
    };
    if (!LOOPBACK.test(req.socket.remoteAddress ?? '')) return send(403, { error: 'loopback only' });
    const path = (req.url ?? '').split('?')[0];
    if (path === '/__secrun/requests' && req.method === 'GET') return send(200, { requests: log.entries });
    if (path === '/__secrun/requests' && req.method === 'DELETE') {
      log.clear();
      return send(204, undefined);
    }
    if (path === '/__secrun/faults' && req.method === 'POST') {
      let settings: SecretsManagerAdminSettings;
      try {
        settings = JSON.parse(body.toString('utf8') || '{}') as SecretsManagerAdminSettings;
      } catch {
        return send(400, { error: 'body must be JSON' });
      }
      if (typeof settings !== 'object' || settings === null)
        return send(400, { error: 'body must be an object' });
      if (settings.clear) {
        faults.clear();
        denied.clear();
      }
      if (settings.deny !== undefined) {
        if (!Array.isArray(settings.deny) || settings.deny.some((d) => typeof d !== 'string')) {
          return send(400, { error: 'deny must be a list of operation names' });
        }
        denied.clear();
        for (const op of settings.deny) denied.add(op);
      }
      faults.set(settings);
      return send(200, { deny: [...denied] });
    }
    return send(404, { error: 'unknown admin endpoint' });
  };

  const handleApi = (
    req: IncomingMessage,
    body: Buffer,
    operation: string | undefined,
    input: Input | undefined,
  ) => {
    if (req.method !== 'POST' || (req.url ?? '') !== '/') {
      throw new AwsError('UnknownOperationException', 'Only POST / is served (awsJson1_1).', 404, true);
    }
    const verdict = verifySigV4(
      { method: req.method, path: '/', query: '', headers: req.headers, body },
      {
        lookup: (id) => creds.find((c) => c.accessKeyId === id),
        // Real time, not opts.now: the signing clock is the SDK's, whatever the store's clock says.
        now: Date.now(),
        region,
        service: 'secretsmanager',
      },
    );
    if (!verdict.ok) throw new AwsError(verdict.code, verdict.message, 400, true);
    const user = creds.find((c) => c.accessKeyId === verdict.accessKeyId)!.user;
    if (operation === undefined || !Object.hasOwn(operations, operation)) {
      const target = String(req.headers['x-amz-target'] ?? '');
      throw new AwsError(
        'UnknownOperationException',
        `The dev server does not support the operation ${JSON.stringify(target)}.`,
        400,
        true,
      );
    }
    if (!input)
      throw new AwsError('SerializationException', 'The request body is not a JSON object.', 400, true);
    const userArn = `arn:aws:iam::${accountId}:user/${user}`;
    if (denied.has(operation)) {
      const resource =
        operation === 'ListSecrets' || operation === 'BatchGetSecretValue'
          ? '*'
          : (secretIdsOf(input)[0] ?? '*');
      throw accessDenied(userArn, operation, resource);
    }
    const ctx: OpContext = { store, now, isDenied: (op) => denied.has(op), userArn };
    return operations[operation]!(input, ctx);
  };

  const server = createServer((req, res) => {
    const started = performance.now();
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const path = (req.url ?? '').split('?')[0] ?? '';
      if (path.startsWith('/__secrun/')) {
        handleAdmin(req, res, body).catch(() => res.destroy());
        return;
      }
      void serve(req, res, body, started, size > MAX_BODY);
    });
  });

  const serve = async (
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer,
    started: number,
    tooBig: boolean,
  ) => {
    // Node sets a correct Date header (real time); the SDK corrects its clock skew from it.
    res.setHeader('x-amzn-RequestId', randomUUID());
    const target = req.headers['x-amz-target'];
    const operation =
      typeof target === 'string' && target.startsWith(TARGET_PREFIX)
        ? target.slice(TARGET_PREFIX.length)
        : undefined;
    let input: Input | undefined;
    try {
      const parsed: unknown = JSON.parse(body.toString('utf8') || '{}');
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) input = parsed as Input;
    } catch {
      input = undefined;
    }
    const entry = {
      method: req.method ?? '',
      path: (req.url ?? '').split('?')[0] ?? '',
      ...(operation !== undefined ? { operation } : {}),
      ...(input && secretIdsOf(input).length > 0 ? { secretIds: secretIdsOf(input) } : {}),
    };
    const record = (status: number) =>
      log.add({
        time: new Date().toISOString(),
        ...entry,
        status,
        durationMs: Math.round((performance.now() - started) * 100) / 100,
      });
    const faulted = await faults.before(
      req,
      res,
      (status) =>
        new AwsError(
          status >= 500
            ? 'InternalServiceError'
            : status === 429
              ? 'ThrottlingException'
              : 'InvalidRequestException',
          status >= 500
            ? 'An error occurred on the server side.'
            : status === 429
              ? 'Rate exceeded'
              : 'Injected fault.',
          status,
        ).body(),
      // Secrets Manager sends ThrottlingException with HTTP 400 (API reference: Common Errors).
      (status) => (status === 429 ? 400 : status),
    );
    if (faulted !== undefined) {
      record(faulted);
      return;
    }
    let status = 200;
    let payload: string;
    try {
      if (tooBig) throw new AwsError('SerializationException', 'The request body is too large.', 413, true);
      payload = JSON.stringify(handleApi(req, body, operation, input));
    } catch (err) {
      const e =
        err instanceof AwsError
          ? err
          : new AwsError('InternalServiceError', 'An error occurred on the server side.', 500);
      status = e.status;
      payload = e.body();
    }
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
    res.on('finish', () => record(status));
    res.on('close', () => {
      if (!res.writableFinished) record(status);
    });
    await faults.send(res, payload);
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const first = creds[0]!;
  return {
    url: `http://${urlHost}:${port}`,
    region,
    accountId,
    credentials: {
      accessKeyId: first.accessKeyId,
      secretAccessKey: first.secretAccessKey,
      ...(first.sessionToken !== undefined ? { sessionToken: first.sessionToken } : {}),
    },
    log,
    faults,
    deny(operation, on = true) {
      if (on) denied.add(operation);
      else denied.delete(operation);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
