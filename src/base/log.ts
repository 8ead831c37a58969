import { inspect } from 'node:util';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export type LogFormat = 'text' | 'json';

const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** Safe-to-print structured fields. Callers never put secret values here. */
export type LogFields = Record<string, unknown>;

/** Logger writing to one stream (stderr by default). */
export interface Logger {
  level: LogLevel;
  readonly format: LogFormat;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

export interface LoggerOptions {
  level?: LogLevel;
  format?: LogFormat;
  write?: (line: string) => void;
  now?: () => Date;
}

/** Creates a logger; text lines look like `secrun: warn: message key=value`. */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const format = opts.format ?? 'text';
  const write = opts.write ?? ((line: string) => process.stderr.write(line));
  const now = opts.now ?? (() => new Date());
  const logger: Logger = {
    level: opts.level ?? 'info',
    format,
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
  function emit(level: Exclude<LogLevel, 'silent'>, msg: string, fields: LogFields = {}): void {
    if (order[level] < order[logger.level]) return;
    if (format === 'json') {
      write(`${JSON.stringify({ time: now().toISOString(), level, msg, ...fields })}\n`);
      return;
    }
    const extra = Object.entries(fields)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : inspect(v)}`)
      .join(' ');
    const prefix = level === 'info' ? 'secrun:' : `secrun: ${level}:`;
    write(`${prefix} ${msg}${extra ? ` ${extra}` : ''}\n`);
  }
  return logger;
}

/** A logger that drops everything (tests, --quiet). */
export const silentLogger: Logger = createLogger({ level: 'silent' });
