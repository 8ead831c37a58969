/**
 * Node built-in modules taken on first use, not when the agent loads (boot time): a run that
 * never checks a certificate, reads a token file or resolves a name never pays for them.
 * Measured as internal modules loaded beyond what the HTTP client needs: crypto 20,
 * fs/promises 15 (streams, readline), perf_hooks 11.
 */
export const nodeCrypto = (): typeof import('node:crypto') =>
  process.getBuiltinModule('node:crypto') as typeof import('node:crypto');

export const fsPromises = (): typeof import('node:fs/promises') =>
  process.getBuiltinModule('node:fs/promises') as typeof import('node:fs/promises');

export const dnsPromises = (): typeof import('node:dns/promises') =>
  process.getBuiltinModule('node:dns/promises') as typeof import('node:dns/promises');

/** Milliseconds on a monotonic clock, for durations (without loading perf_hooks). */
export const monotonicMs = (): number => Number(process.hrtime.bigint()) / 1e6;
