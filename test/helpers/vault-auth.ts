import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { createLogger, type Logger } from '../../src/base/log.ts';
import { VaultClient } from '../../src/providers/vault/client.ts';
import { readVaultSettings, type VaultSettingsOverrides } from '../../src/providers/vault/env-settings.ts';
import type { VaultAuthContext } from '../../src/providers/vault/provider.ts';
import type { TlsFileReader } from '../../src/providers/vault/tls.ts';

/** A logger that keeps its lines for canary checks. */
export function captureLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: createLogger({ level: 'debug', write: (l) => lines.push(l) }), lines };
}

/** A VaultClient for the dev server: no retries unless asked, short backoff. */
export function devClient(
  env: Record<string, string | undefined>,
  logger: Logger,
  overrides: VaultSettingsOverrides = {},
  files?: TlsFileReader,
): VaultClient {
  const settings = readVaultSettings(env, { maxRetries: 0, timeoutMs: 5000, ...overrides });
  return new VaultClient(settings, { logger, retry: { baseMs: 1, capMs: 5 }, ...(files ? { files } : {}) });
}

/** The context the provider hands an auth method. */
export function authContext(
  client: VaultClient,
  logger: Logger,
  env: Record<string, string | undefined> = {},
  signal: AbortSignal = AbortSignal.timeout(20_000),
): VaultAuthContext {
  return { env, homeDir: '/nonexistent-home', logger, client, signal };
}

/** An in-memory `readFile`: unknown paths fail with ENOENT like fs does. */
export function memReadFile(files: Record<string, string>): (path: string) => Promise<string> {
  return async (path) => {
    const text = files[path];
    if (text === undefined) {
      throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: 'ENOENT' });
    }
    return text;
  };
}

/** An in-memory TLS file reader for VaultClient (paths -> PEM). */
export function memTlsFiles(files: Record<string, string>): TlsFileReader {
  return {
    readFile: (p) => {
      const text = files[p];
      if (text === undefined) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
      return Buffer.from(text);
    },
    readDir: () => [],
    mode: () => 0o600,
  };
}

/** Asserts that no canary appears in `value` printed every way a log or report could print it. */
export function assertNoCanary(value: unknown, canaries: readonly string[], what = 'value'): void {
  const views = [inspect(value, { showHidden: true, depth: null }), JSON.stringify(value) ?? ''];
  if (value instanceof Error) views.push(String(value), value.stack ?? '');
  for (const view of views) {
    for (const c of canaries) assert.ok(!view.includes(c), `${what} leaks ${c}: ${view.slice(0, 400)}`);
  }
}

/** Awaits a promise that must reject and returns the error. */
export async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  assert.fail('expected a rejection');
}
