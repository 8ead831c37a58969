import { ResolveError, toSecrunError, UnavailableError } from './errors.ts';

/** Failures that retrying cannot fix: everything but "unavailable" (network, 5xx, timeouts). */
export function isPermanent(err: unknown): boolean {
  return !(toSecrunError(err) instanceof UnavailableError);
}

/** Code and one-line reason of a failure, for logs and audit; for a ResolveError, those of its first cause. */
export function errorFields(err: unknown): { code: string; reason: string } {
  let e = toSecrunError(err);
  if (e instanceof ResolveError && e.failures[0]) e = e.failures[0].error;
  return { code: e.code, reason: e.message.split('\n')[0] ?? e.code };
}
