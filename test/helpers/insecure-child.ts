import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { collectOutput } from './child-output.ts';

/** What the child process reports about its control request and its one provider read. */
export interface InsecureChildReport {
  /** The plain `https.get` control: a status code when NODE_TLS_REJECT_UNAUTHORIZED=0 took effect. */
  control: unknown;
  ok: boolean;
  code: string | null;
  message: string;
  /** The provider's log lines (level warn and up). */
  lines: string[];
}

export interface InsecureChildOptions {
  /** The endpoint both the control request and the provider use. */
  url: string;
  /** Path of the control request made with plain node:https (no provider). */
  controlPath: string;
  /** The provider module, relative to src/ (e.g. `providers/vault/provider.ts`), and its factory's name. */
  module: string;
  factory: string;
  /** JavaScript source of the factory's options other than `logger`; `url` is in scope. */
  options: string;
  /** The document read: scheme and path. */
  scheme: string;
  path: string;
  /** Further variables for the child (PATH and NODE_TLS_REJECT_UNAUTHORIZED=0 are always set). */
  env?: Record<string, string>;
}

/**
 * Runs one provider read in a separate node process whose environment has
 * NODE_TLS_REJECT_UNAUTHORIZED=0, after a control request showing the variable is in effect there.
 * Fails unless the child exits 0; returns its report.
 */
export async function readInInsecureChild(o: InsecureChildOptions): Promise<InsecureChildReport> {
  const providerUrl = new URL(`../../src/${o.module}`, import.meta.url).href;
  const logUrl = new URL('../../src/base/log.ts', import.meta.url).href;
  const script = `
    import https from 'node:https';
    const { ${o.factory} } = await import(${JSON.stringify(providerUrl)});
    const { createLogger } = await import(${JSON.stringify(logUrl)});
    const url = ${JSON.stringify(o.url)};
    const control = await new Promise((resolve) => {
      https.get(url + ${JSON.stringify(o.controlPath)}, (res) => { res.resume(); resolve(res.statusCode); })
        .on('error', (e) => resolve(e.code));
    });
    const lines = [];
    const p = ${o.factory}({
      ...(${o.options}),
      logger: createLogger({ level: 'warn', write: (l) => lines.push(l) }),
    });
    const req = { scheme: ${JSON.stringify(o.scheme)}, path: ${JSON.stringify(o.path)}, options: {}, key: 'k' };
    const out = (await p.readAll([req], AbortSignal.timeout(10000))).get('k');
    await p.close();
    process.stdout.write(JSON.stringify({ control, ok: out.ok, code: out.ok ? null : out.error.code, message: out.ok ? '' : out.error.message, lines }) + '\\n');
  `;
  const child = spawn(process.execPath, ['--no-warnings', '--input-type=module', '-e', script], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NODE_TLS_REJECT_UNAUTHORIZED: '0', ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = collectOutput(child);
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const code = await new Promise<number | null>((r) => child.on('close', r));
  clearTimeout(timer);
  assert.equal(code, 0, out.stderr());
  return JSON.parse(out.stdout().trim()) as InsecureChildReport;
}
