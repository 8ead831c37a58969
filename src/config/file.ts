import { closeSync, openSync, readSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { ConfigError } from '../base/errors.ts';
import { fileLine } from './file-line.ts';
import { type KeyPath, keyLineFinder } from './key-lines.ts';
import { OPTIONS } from './options.ts';
import { type SchemaProblem, schemaProblems } from './schema.ts';
import { parseDuration, parseOnChange } from './values.ts';

/**
 * The configuration file after schema validation (keys as written, snake_case). Its single
 * settings are declared in the option table (options.ts) and read through it; only the entry
 * lists have a shape of their own.
 */
export interface ConfigFile {
  env?: Record<string, string | EnvEntry>;
  import?: Array<string | { ref: string; prefix?: string }>;
  readonly [key: string]: unknown;
}

/** The long form of an `env:` entry. */
export interface EnvEntry {
  ref: string;
  on_change?: string;
  /** The Vault path is fetched by one write of `params` (never set by a reference alone). */
  write?: boolean;
  params?: Record<string, string | number | boolean>;
}

/** A loaded, validated configuration file. */
export interface LoadedConfig {
  /** Absolute path of the file. */
  file: string;
  data: ConfigFile;
  /** 1-based line of the key at `path` (e.g. `['vault', 'auth', 'method']`), when known. */
  lineOf(path: KeyPath): number | undefined;
}

/**
 * Parses and validates config text (YAML or JSON). Every problem is reported in one ConfigError
 * naming the key path and line, e.g. `secrun.yaml:4: vault.auth.methd: unknown key`.
 *
 * @throws ConfigError `config.syntax` or `config.invalid` (exit 78).
 */
export function parseConfig(text: string, file = '<config>'): LoadedConfig {
  if (Buffer.byteLength(text) > MAX_CONFIG_BYTES) throw tooLarge(file);
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const lines = doc.errors.map((e) => {
      const line = e.linePos?.[0]?.line ?? lineCounter.linePos(e.pos[0]).line;
      return `${fileLine(file, line)}: invalid YAML/JSON: ${e.message.split('\n')[0]}`;
    });
    throw new ConfigError(lines.join('\n'), 'config.syntax', { path: file });
  }
  const lineOf = keyLineFinder(doc, lineCounter);
  let data: unknown;
  try {
    // yaml's own guard against alias bombs ("billion laughs"): a few aliases are fine, a tree
    // that expands to millions of nodes is refused.
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) ?? {};
  } catch (err) {
    if (!(err instanceof ReferenceError)) throw err;
    const bomb = /excessive alias/i.test(err.message);
    throw new ConfigError(
      bomb
        ? `${file}: invalid YAML: too many alias references (*name); a config file needs at most a few (is it an alias bomb?)`
        : `${file}: invalid YAML: ${err.message.split('\n')[0]}`,
      'config.syntax',
      { path: file },
    );
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new ConfigError(
      `${file}:1: the config must be a mapping of keys (vault:, env:, ...)`,
      'config.invalid',
      {
        path: file,
      },
    );
  }
  const located = (problems: SchemaProblem[]) => problems.map((p) => ({ ...p, line: lineOf(p.path) }));
  const schema = located(schemaProblems(data));
  if (schema.length > 0)
    throw invalidConfig(
      file,
      schema.sort((a, b) => (a.line ?? 0) - (b.line ?? 0)),
    );
  const config = data as ConfigFile;
  const values = located(valueProblems(config));
  if (values.length > 0) throw invalidConfig(file, values);
  return { file, data: config, lineOf };
}

/**
 * Reads and validates a config file.
 *
 * @throws ConfigError `config.unreadable`, `config.syntax`, `config.invalid`.
 */
export function loadConfigFile(file: string): LoadedConfig {
  let text: string;
  try {
    text = readBounded(file, MAX_CONFIG_BYTES).toString('utf8');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError(`cannot read config file ${file}: ${code}`, 'config.unreadable', { path: file });
  }
  return parseConfig(text, file);
}

/** A config file is small; anything larger is a mistake (or /dev/zero) and is refused at once. */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/** Alias references allowed in a config file (yaml's expansion guard). */
const MAX_ALIAS_COUNT = 100;

function tooLarge(file: string): ConfigError {
  return new ConfigError(
    `config file ${file} is larger than ${MAX_CONFIG_BYTES / (1024 * 1024)} MiB; is it the right file?`,
    'config.tooLarge',
    { path: file },
  );
}

/** Reads at most `max` bytes; a file (or device, or pipe) with more is refused without reading it all. */
function readBounded(file: string, max: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(max + 1);
    let size = 0;
    for (;;) {
      const n = readSync(fd, buf, size, buf.length - size, null);
      if (n === 0) break;
      size += n;
      if (size > max) throw tooLarge(file);
    }
    return buf.subarray(0, size);
  } finally {
    closeSync(fd);
  }
}

/** Values the schema lets through but the parsers refuse (`on_change` signals, duration limits). */
function valueProblems(config: ConfigFile): SchemaProblem[] {
  const problems: SchemaProblem[] = [];
  const check = (path: KeyPath, value: unknown, parse: (value: never) => unknown): void => {
    if (value === undefined) return;
    try {
      parse(value as never);
    } catch (err) {
      problems.push({ path, message: (err as Error).message });
    }
  };
  for (const o of OPTIONS) {
    const parse =
      o.kind === 'duration'
        ? (v: string | number) => parseDuration(v, o.maxMs)
        : o.kind === 'onChange'
          ? parseOnChange
          : undefined;
    if (o.file === undefined || parse === undefined) continue;
    const path = o.file.split('.');
    check(
      path,
      path.reduce<unknown>((at, key) => (at as Record<string, unknown> | undefined)?.[key], config),
      parse,
    );
  }
  for (const [name, entry] of Object.entries(config.env ?? {})) {
    if (typeof entry !== 'object') continue;
    check(['env', name, 'on_change'], entry.on_change, parseOnChange);
    problems.push(...writeProblems(name, entry));
  }
  return problems;
}

/** `write: true` needs one `vault:` reference; `params` need `write: true`. */
function writeProblems(name: string, entry: EnvEntry): SchemaProblem[] {
  if (entry.write !== true) {
    return entry.params === undefined
      ? []
      : [
          {
            path: ['env', name, 'params'],
            message: 'params are sent only by a write: add write: true, or remove params',
          },
        ];
  }
  if (!entry.ref.startsWith('vault:')) {
    return [
      {
        path: ['env', name, 'ref'],
        message:
          'write: true needs one vault: reference (a Vault path to write to), not a template or another scheme',
      },
    ];
  }
  return [];
}

function invalidConfig(
  file: string,
  problems: Array<SchemaProblem & { line: number | undefined }>,
): ConfigError {
  const lines = problems.map(({ path, message, line }) => {
    const where = path.length > 0 ? path.join('.') : '(top level)';
    return `${fileLine(file, line)}: ${where}: ${message}`;
  });
  return new ConfigError(`invalid config file:\n${lines.join('\n')}`, 'config.invalid', { path: file });
}
