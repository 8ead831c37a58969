import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type SecretsManagerDevServer, startSecretsManagerServer } from '../../src/dev/aws/server.ts';
import { parseSeed } from '../../src/dev/seed.ts';
import { startVaultServer, type VaultDevServer } from '../../src/dev/vault/server.ts';
import { collectOutput } from './child-output.ts';
import { vaultMountsYaml } from './seed-yaml.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/**
 * The secrun under test: `$SECRUN_BIN` (the bundle `dist/secrun.mjs`, the executable
 * `dist/secrun-linux-x64`, relative to the repository or absolute), else `bin/secrun.js`.
 */
export const BIN = process.env['SECRUN_BIN']
  ? path.resolve(ROOT, process.env['SECRUN_BIN'])
  : `${ROOT}bin/secrun.js`;
export const FIXTURES = `${ROOT}test/fixtures/`;
/** Whether the secrun under test is the standalone executable (rather than a script run by node). */
export const IS_EXECUTABLE = !/\.(m?js|ts)$/.test(BIN);
/** Node >= 22.18 (the test runner's own). */
export const NODE = process.execPath;

/** The node flags on a script's `#!/usr/bin/env -S node <flags>` line. */
export function shebangFlags(file: string): string[] {
  const first = readFileSync(file, 'utf8').split('\n', 1)[0] ?? '';
  const words = first.replace(/^#!/, '').trim().split(/\s+/);
  const node = words.findIndex((w) => w === 'node' || w.endsWith('/node'));
  return node < 0 ? [] : words.slice(node + 1);
}

/**
 * How to start secrun with `args`: an executable directly; a script on the test runner's Node
 * with the flags of its shebang line (what the kernel would run, without depending on which
 * `node` comes first on PATH).
 */
export function secrunCommand(args: string[], bin = BIN): [file: string, argv: string[]] {
  if (!/\.(m?js|ts)$/.test(bin)) return [bin, args];
  return [NODE, [...shebangFlags(bin), bin, ...args]];
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Pid of the secrun process as spawned. */
  pid: number;
}

/** Runs `secrun <args>` with exactly `env` (nothing inherited) and collects its output. */
export function runSecrun(
  args: string[],
  env: Record<string, string>,
  opts: {
    timeoutMs?: number;
    cwd?: string;
    onSpawn?: (pid: number) => void;
    bin?: string;
    /** A command that runs secrun (e.g. `unshare --net`). */
    wrap?: string[];
  } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const [bare, bareArgv] = secrunCommand(args, opts.bin);
    const [file, argv] = opts.wrap?.length
      ? [opts.wrap[0] as string, [...opts.wrap.slice(1), bare, ...bareArgv]]
      : [bare, bareArgv];
    const child = spawn(file, argv, {
      env,
      cwd: opts.cwd ?? ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out = collectOutput(child);
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', reject);
    if (child.pid !== undefined) opts.onSpawn?.(child.pid);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: out.stdout(), stderr: out.stderr(), pid: child.pid ?? -1 });
    });
  });
}

/** Parses the JSON line printed by test/fixtures/print-env.mjs. */
export function childReport(stdout: string): { pid: number; env: Record<string, string> } {
  const line = stdout.split('\n').find((l) => l.startsWith('{"pid"'));
  if (!line) throw new Error(`no print-env output in: ${stdout.slice(0, 500)}`);
  return JSON.parse(line) as { pid: number; env: Record<string, string> };
}

/** Random values that must never appear in any output. */
export function canary(label: string): string {
  return `canary-${label}-${randomBytes(9).toString('hex')}`;
}

/** Both dev servers, seeded with canary secrets, and the environment to reach them. */
export interface Bed {
  vault: VaultDevServer;
  aws: SecretsManagerDevServer;
  canaries: Record<string, string>;
  /** PATH, HOME and the dev servers' variables. */
  env: Record<string, string>;
  /** Clears both servers' request logs and injected faults (between tests). */
  reset(): void;
  close(): Promise<void>;
}

/** Starts both dev servers with a seed whose every secret value is a fresh canary. */
export async function startBed(): Promise<Bed> {
  const c = {
    dbPassword: canary('kvpw'),
    apiKey: canary('api'),
    oldPassword: canary('old'),
    stripe: canary('stripe'),
    webhook: canary('webhook'),
    token: `hvs.${canary('tok')}`,
    appToken: `hvs.${canary('app')}`,
  };
  const seed = parseSeed(
    `
vault:
  root_token: ${c.token}
${vaultMountsYaml({ secret: 2, kv1: 1 })}
    aws:
      type: aws
      roles:
        deploy:
          credential_type: assumed_role
          role_arns: ["arn:aws:iam::111122223333:role/deploy"]
          max_sts_ttl: 2h
  kv:
    secret/app/db:
      - { username: app, password: ${c.oldPassword} }
      - { username: app, password: ${c.dbPassword}, port: 5432 }
    secret/app/api: { key: ${c.apiKey} }
    kv1/legacy: { key: ${c.apiKey} }
  policies:
    limited:
      - { path: "secret/data/app/api", capabilities: [read] }
  tokens:
    - { id: ${c.appToken}, policies: [limited], ttl: 1h }
aws:
  region: eu-west-1
  account_id: "111122223333"
  credentials:
    - { access_key_id: AKIATESTCLI000000001, secret_access_key: test-cli-secret-key-000000000001 }
  secrets:
    prod/stripe: { api_key: ${c.stripe}, webhook: ${c.webhook} }
    prod/plain: ${c.apiKey}
`,
    'cli-seed',
  );
  const vault = await startVaultServer({ seed });
  const aws = await startSecretsManagerServer({ seed });
  const env = { ...devServerEnv(vault, aws), VAULT_TOKEN: c.token };
  return {
    vault,
    aws,
    canaries: c,
    env,
    reset() {
      vault.log.clear();
      aws.log.clear();
      vault.faults.clear();
      aws.faults.clear();
    },
    async close() {
      await Promise.all([vault.close(), aws.close()]);
    },
  };
}

/** Asserts no canary occurs in any of the texts. */
export function findCanaries(canaries: Record<string, string>, ...texts: string[]): string[] {
  const found: string[] = [];
  for (const [name, value] of Object.entries(canaries)) {
    if (texts.some((t) => t.includes(value))) found.push(name);
  }
  return found;
}

/**
 * PATH, HOME and the variables that point the real clients at the dev servers (no shared AWS
 * config, no instance metadata); the caller adds the Vault credential.
 */
export function devServerEnv(vault: VaultDevServer, aws: SecretsManagerDevServer): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: '/nonexistent-home',
    VAULT_ADDR: vault.url,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: aws.url,
    AWS_REGION: aws.region,
    AWS_ACCESS_KEY_ID: aws.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: aws.credentials.secretAccessKey,
    AWS_CONFIG_FILE: '/nonexistent-aws-config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent-aws-credentials',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}
