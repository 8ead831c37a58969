import { type Readable, Transform } from 'node:stream';

/**
 * The largest response body accepted from Secrets Manager. A secret is at most 64 KiB (binary:
 * ~88 KiB of base64); a BatchGetSecretValue answer holds at most 20 of them, and JSON escaping can
 * grow a string up to six times. Anything larger is not a Secrets Manager answer, and reading it
 * whole would let an endpoint blow up the agent's memory.
 */
export const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

/** Thrown (through the SDK) when a response exceeds {@link MAX_RESPONSE_BYTES}. */
export class ResponseTooLargeError extends Error {
  readonly code = 'BODY_TOO_LARGE';
  readonly limit: number;
  constructor(limit: number) {
    super(`response body larger than ${limit} bytes`);
    this.name = 'ResponseTooLargeError';
    this.limit = limit;
  }
}

interface HttpHandlerLike {
  handle(
    request: unknown,
    options?: unknown,
  ): Promise<{ response: { headers: Record<string, string>; body: unknown } }>;
}

/** A body stream that errors (and stops reading) once more than `max` bytes came through. */
function capStream(body: Readable, max: number): Readable {
  let seen = 0;
  const capped = new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      if (seen > max) {
        body.destroy();
        done(new ResponseTooLargeError(max));
        return;
      }
      done(null, chunk);
    },
  });
  body.on('error', (err) => capped.destroy(err));
  return body.pipe(capped);
}

/**
 * Caps the response bodies of an SDK client's request handler (the SDK reads a body whole before
 * parsing it): a declared `content-length` over `max` fails at once, a body that grows past it
 * fails as soon as it does. The handler instance is the client's own (`config.requestHandler`).
 */
export function capResponseBodies(handler: unknown, max: number = MAX_RESPONSE_BYTES): void {
  const h = handler as HttpHandlerLike;
  const handle = h.handle.bind(h);
  h.handle = async (request, options) => {
    const out = await handle(request, options);
    const body = out.response.body as Readable | undefined;
    if (!body || typeof body.pipe !== 'function') return out;
    const declared = Number(out.response.headers['content-length']);
    if (Number.isFinite(declared) && declared > max) {
      body.destroy();
      throw new ResponseTooLargeError(max);
    }
    out.response.body = capStream(body, max);
    return out;
  };
}
