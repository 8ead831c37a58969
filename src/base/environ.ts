import { readFileSync } from 'node:fs';

/**
 * The process environment as a plain object, read once. Each read of a `process.env` property
 * searches the whole environment, so walking `process.env` costs O(n^2): 40-60 ms for 1,000
 * variables, paid again by every pass over it. On Linux the environment the process started with
 * is read from /proc/self/environ in one go (nothing here writes to process.env, so it is the
 * same); elsewhere, or when /proc is not there, `process.env` is copied once.
 */
export function environmentSnapshot(
  readEnviron: () => string = () => readFileSync('/proc/self/environ', 'utf8'),
): Record<string, string> {
  let raw: string;
  try {
    raw = readEnviron();
  } catch {
    return copyOf(process.env);
  }
  return parseEnviron(raw);
}

/** `NAME=value\0...` as an object: the first of duplicate names wins, as with getenv(3). */
export function parseEnviron(text: string): Record<string, string> {
  const env: Record<string, string> = Object.create(null);
  for (const entry of text.split('\0')) {
    const eq = entry.indexOf('=');
    if (eq <= 0) continue;
    const name = entry.slice(0, eq);
    if (!Object.hasOwn(env, name)) env[name] = entry.slice(eq + 1);
  }
  return { ...env };
}

function copyOf(source: NodeJS.ProcessEnv): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(source)) if (value !== undefined) env[name] = value;
  return env;
}
