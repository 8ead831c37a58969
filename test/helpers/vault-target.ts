import { randomBytes } from 'node:crypto';
import vault from 'node-vault';
import { loadSeedFile } from '../../src/dev/seed.ts';
import {
  startVaultServer,
  type VaultDevServer,
  type VaultDevServerOptions,
} from '../../src/dev/vault/server.ts';

export const SEED_FILE = new URL('../fixtures/vault-seed.yaml', import.meta.url).pathname;

/** Where a conformance test runs: the dev server, or a real Vault named by env vars. */
export interface VaultTarget {
  addr: string;
  rootToken: string;
  /** Set only when the target is the dev server. */
  dev: VaultDevServer | undefined;
  /** Unique path segment for data this run creates. */
  prefix: string;
  client(token?: string, extra?: vault.VaultOptions): vault.client;
  raw(method: string, path: string, o?: RawOptions): Promise<RawResponse>;
  close(): Promise<void>;
}

export interface RawOptions {
  token?: string | null;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: JSON bodies are asserted field by field
  body: any;
}

/** True when SECRUN_TEST_VAULT_ADDR and SECRUN_TEST_VAULT_TOKEN point the tests at a real Vault. */
export const realVault = Boolean(
  process.env['SECRUN_TEST_VAULT_ADDR'] && process.env['SECRUN_TEST_VAULT_TOKEN'],
);

export async function rawRequest(
  addr: string,
  method: string,
  path: string,
  o: RawOptions = {},
): Promise<RawResponse> {
  const headers: Record<string, string> = { ...o.headers };
  if (o.token) headers['x-vault-token'] = o.token;
  if (o.body !== undefined) headers['content-type'] ??= 'application/json';
  const res = await fetch(addr + path, {
    method,
    headers,
    body: o.body === undefined ? null : JSON.stringify(o.body),
    redirect: 'manual',
  });
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = text;
  }
  return { status: res.status, headers: res.headers, text, body };
}

/** Opens the target: a real Vault when the env vars are set, else a dev server on the fixture seed. */
export async function openVaultTarget(opts: Omit<VaultDevServerOptions, 'seed'> = {}): Promise<VaultTarget> {
  const prefix = `t${randomBytes(4).toString('hex')}`;
  let dev: VaultDevServer | undefined;
  let addr: string;
  let rootToken: string;
  if (realVault) {
    addr = process.env['SECRUN_TEST_VAULT_ADDR']!.replace(/\/+$/, '');
    rootToken = process.env['SECRUN_TEST_VAULT_TOKEN']!;
  } else {
    dev = await startVaultServer({ seed: loadSeedFile(SEED_FILE), ...opts });
    addr = dev.url;
    rootToken = dev.rootToken;
  }
  return {
    addr,
    rootToken,
    dev,
    prefix,
    client: (token = rootToken, extra = {}) =>
      vault({
        endpoint: addr,
        token,
        noCustomHTTPVerbs: true,
        requestOptions: { timeout: 10_000 },
        ...extra,
      }),
    raw: (method, path, o = {}) =>
      rawRequest(addr, method, path, { ...o, token: o.token === null ? undefined : (o.token ?? rootToken) }),
    close: async () => {
      await dev?.close();
    },
  };
}

/** The ApiResponseError node-vault rejects with (its classes are not exported). */
export async function vaultError(
  p: Promise<unknown>,
  // biome-ignore lint/suspicious/noExplicitAny: JSON bodies are asserted field by field
): Promise<{ statusCode: number; body: any; message: string }> {
  try {
    await p;
  } catch (err) {
    const e = err as { message: string; response?: { statusCode: number; body: unknown } };
    if (!e.response) throw err;
    return { statusCode: e.response.statusCode, body: e.response.body, message: e.message };
  }
  throw new Error('expected the request to fail');
}
