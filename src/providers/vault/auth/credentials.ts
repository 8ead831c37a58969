import { ConfigError, PermissionError } from '../../../base/errors.ts';
import type { MethodDeps } from './types.ts';

/** Where a credential comes from: a file or an environment variable. */
export type CredentialSource = { file: string } | { env: string };

/** How a missing credential is reported. */
export interface MissingCredential {
  /** Error code; default `vault.auth.credential`. */
  code?: string;
  /** Appended to the message: what to do. */
  hint?: string;
}

/**
 * Picks the one configured source among a file and a variable. Both set is a ConfigError naming
 * the two keys; neither gives undefined.
 */
export function pickSource(
  file: string | undefined,
  env: string | undefined,
  keys: [fileKey: string, envKey: string],
): CredentialSource | undefined {
  if (file && env) {
    throw new ConfigError(
      `vault.auth.${keys[0]} and vault.auth.${keys[1]} are both set; keep one`,
      'vault.auth.config',
    );
  }
  if (file) return { file };
  if (env) return { env };
  return undefined;
}

/**
 * Reads a credential (trimmed) from its source. An unreadable file, an unset variable or an empty
 * value is a PermissionError naming the file or variable, never its content.
 */
export async function readCredential(
  deps: MethodDeps,
  source: CredentialSource,
  what: string,
  missing: MissingCredential = {},
): Promise<string> {
  const code = missing.code ?? 'vault.auth.credential';
  const hint = missing.hint ? `; ${missing.hint}` : '';
  if ('env' in source) {
    const value = deps.env[source.env]?.trim();
    if (value) return value;
    const state = deps.env[source.env] === undefined ? 'is not set' : 'is empty';
    throw new PermissionError(`${what}: variable ${source.env} ${state}${hint}`, code, {
      variable: source.env,
    });
  }
  let text: string;
  try {
    text = await deps.readFile(source.file);
  } catch (err) {
    const errno = (err as NodeJS.ErrnoException | null)?.code ?? 'error';
    throw new PermissionError(`${what}: cannot read ${source.file} (${errno})${hint}`, code, {
      path: source.file,
      cause: errno,
    });
  }
  const value = text.trim();
  if (!value)
    throw new PermissionError(`${what}: ${source.file} is empty${hint}`, code, { path: source.file });
  return value;
}

/** Replaces every occurrence of the given secrets in `text` (for server messages we pass on). */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('[redacted]');
  return out;
}
