import { type SecretsManagerDevServer, startSecretsManagerServer } from './aws/server.ts';
import { loadSeedFile, parseSeed, type Seed } from './seed.ts';
import { startVaultServer, type VaultDevServer } from './vault/server.ts';

export interface DevOptions {
  /** Seed file; without one both servers start empty (a root token and default credentials). */
  seedFile?: string;
  /** An already parsed seed; wins over `seedFile`. */
  seed?: Seed;
  vaultPort?: number;
  awsPort?: number;
  host?: string;
}

/** Both dev servers, running. */
export interface DevServers {
  vault: VaultDevServer;
  aws: SecretsManagerDevServer;
  /** Environment a client needs to talk to them. */
  env: Record<string, string>;
  close(): Promise<void>;
}

/** Starts the Vault- and Secrets-Manager-compatible servers on loopback. */
export async function startDevServers(opts: DevOptions = {}): Promise<DevServers> {
  const seed: Seed =
    opts.seed ?? (opts.seedFile ? loadSeedFile(opts.seedFile) : parseSeed('{}', '<empty seed>'));
  const host = opts.host ?? '127.0.0.1';
  const vault = await startVaultServer({ seed, port: opts.vaultPort ?? 0, host });
  let aws: SecretsManagerDevServer;
  try {
    aws = await startSecretsManagerServer({ seed, port: opts.awsPort ?? 0, host });
  } catch (err) {
    await vault.close();
    throw err;
  }
  const env: Record<string, string> = {
    VAULT_ADDR: vault.url,
    VAULT_TOKEN: vault.rootToken,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: aws.url,
    AWS_REGION: aws.region,
    AWS_ACCESS_KEY_ID: aws.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: aws.credentials.secretAccessKey,
  };
  if (aws.credentials.sessionToken) env['AWS_SESSION_TOKEN'] = aws.credentials.sessionToken;
  return {
    vault,
    aws,
    env,
    async close() {
      await Promise.allSettled([vault.close(), aws.close()]);
    },
  };
}

/** Shell `export` lines for the dev servers' environment. */
export function exportLines(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([k, v]) => `export ${k}=${shellQuote(v)}`)
    .join('\n');
}

function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}
