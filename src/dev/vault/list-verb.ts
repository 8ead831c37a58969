import { IncomingMessage, type Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

const MAX_HEAD = 64 * 1024;

interface ListHead {
  url: string;
  headers: Record<string, string>;
  rawHeaders: string[];
  bodyLength: number;
}

/** Reads `LIST <url> HTTP/1.x` and its headers from the bytes node's parser refused. */
function parseListHead(raw: Buffer): ListHead | undefined {
  const text = raw.subarray(0, MAX_HEAD).toString('latin1');
  const start = text.search(/(^|\r\n)LIST /);
  if (start === -1) return undefined;
  const head = text.slice(start).replace(/^\r\n/, '');
  const end = head.indexOf('\r\n\r\n');
  if (end === -1) return undefined;
  const [requestLine, ...lines] = head.slice(0, end).split('\r\n');
  const m = /^LIST (\S+) HTTP\/1\.[01]$/.exec(requestLine ?? '');
  if (!m) return undefined;
  const headers: Record<string, string> = {};
  const rawHeaders: string[] = [];
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) return undefined;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    rawHeaders.push(name, value);
    const key = name.toLowerCase();
    headers[key] = headers[key] === undefined ? value : `${headers[key]}, ${value}`;
  }
  if (headers['transfer-encoding'] !== undefined) return undefined;
  const bodyLength = Number(headers['content-length'] ?? '0');
  if (!Number.isInteger(bodyLength) || bodyLength !== 0) return undefined;
  return { url: m[1]!, headers, rawHeaders, bodyLength };
}

/**
 * Node's HTTP parser knows no `LIST` method (which the vault CLI and node-vault's `list()` send)
 * and reports it as a client error. This picks such a request up from the refused bytes, hands it
 * to `listener` as a request with method `LIST` and closes the connection after the response
 * (the parser of that connection is spent). Anything else gets node's usual bare 400.
 */
export function acceptListVerb(server: Server, listener: Listener): void {
  server.on('clientError', (err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Socket) => {
    const head =
      err.code === 'HPE_INVALID_METHOD' && err.rawPacket ? parseListHead(err.rawPacket) : undefined;
    if (!head || socket.destroyed) {
      // What node does without a clientError listener.
      if (!socket.writable || err.code === 'ECONNRESET') {
        socket.destroy();
        return;
      }
      const status =
        err.code === 'HPE_HEADER_OVERFLOW'
          ? '431 Request Header Fields Too Large'
          : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
            ? '408 Request Timeout'
            : '400 Bad Request';
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`);
      return;
    }
    const req = new IncomingMessage(socket);
    req.method = 'LIST';
    req.url = head.url;
    req.headers = head.headers;
    req.rawHeaders = head.rawHeaders;
    req.httpVersionMajor = 1;
    req.httpVersionMinor = 1;
    req.httpVersion = '1.1';
    req.complete = true;
    req.push(null);
    const res = new ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket);
    res.on('finish', () => socket.end());
    listener(req, res);
  });
}
