import { homedir } from 'node:os';
import { InternalError, toSecrunError } from '../base/errors.ts';
import type { Logger } from '../base/log.ts';
import { collectStrings } from '../base/redact.ts';
import type { VaultAuthSettings } from '../config/index.ts';
import type { SecretsManagerProviderOptions } from './aws/provider.ts';
import { type CloseOptions, hasSession, type Provider, type SessionProvider } from './provider.ts';
import type { VaultProviderOptions } from './vault/provider.ts';

/** A registered reference scheme. */
export type Scheme = Provider['scheme'];

/** Options of {@link createProviderRegistry}. Only type imports above: no SDK is loaded here. */
export interface ProviderRegistryOptions {
  /** The agent's environment (`process.env` in production), handed to each provider. */
  env: Record<string, string | undefined>;
  logger: Logger;
  /** For `~/.vault-token`; default `os.homedir()`. */
  homeDir?: string;
  /** Vault settings from the config file and flags (each wins over its `VAULT_*` variable). */
  vault?: Omit<VaultProviderOptions, 'env' | 'logger' | 'homeDir'>;
  /** `vault.auth` settings; the auth module is imported only with the Vault provider. */
  vaultAuth?: VaultAuthSettings;
  /** Secrets Manager settings from the config file (`aws.region`, `aws.endpoint`). */
  aws?: Omit<SecretsManagerProviderOptions, 'env' | 'logger'>;
  /** Replaces the factory of a scheme (tests, embedding). */
  factories?: Partial<Record<Scheme, () => Promise<Provider>>>;
  /**
   * Every value read through the registry is added here, and the Vault client adds its tokens
   * and credentials: server error text is redacted of all of them. Default: a new set.
   */
  knownSecrets?: Set<string>;
}

/** Creates providers on first use and closes them at the end. */
export interface ProviderRegistry {
  /** The provider of a scheme, created (and its SDK imported) on the first call; shared after. */
  get(scheme: Scheme): Promise<Provider>;
  /** Closes every provider created so far; failures are logged, never thrown. */
  closeAll(opts?: CloseOptions): Promise<void>;
  /** Schemes whose provider is created or being created, in first-use order. */
  loaded(): Scheme[];
  /** The providers created so far (one whose creation failed is left out). */
  providers(): Promise<Provider[]>;
  /** The first provider created so far that has a login and leases of its own. */
  session(): Promise<SessionProvider | undefined>;
  /** Every value, token and credential known so far (for redacting server text). */
  readonly knownSecrets: Set<string>;
}

/**
 * The scheme -> provider registry. Each provider module is imported with a dynamic `import()`
 * inside its factory, so `node-vault` is loaded only when a `vault:` reference is resolved and
 * the AWS SDK only for an `awssm:` one (design.md section 5). Concurrent `get` calls share one
 * creation; a factory that fails is not cached, so a later call tries again.
 */
export function createProviderRegistry(opts: ProviderRegistryOptions): ProviderRegistry {
  const knownSecrets = opts.knownSecrets ?? new Set<string>();
  const factories: Record<Scheme, () => Promise<Provider>> = {
    vault: async () => {
      const { createVaultProvider } = await import('./vault/provider.ts');
      const homeDir = opts.homeDir ?? homedir();
      const authModule = opts.vaultAuth ? await import('./vault/auth/index.ts') : undefined;
      const auth =
        opts.vaultAuth &&
        authModule?.createVaultAuth(opts.vaultAuth, { env: opts.env, homeDir, logger: opts.logger });
      return createVaultProvider({
        ...opts.vault,
        ...(auth ? { auth } : {}),
        consumedVariables: opts.vaultAuth ? authModule?.consumedVariables(opts.vaultAuth) : [],
        env: opts.env,
        logger: opts.logger,
        homeDir,
        knownSecrets,
      });
    },
    awssm: async () => {
      const { createSecretsManagerProvider } = await import('./aws/provider.ts');
      return createSecretsManagerProvider({ ...opts.aws, env: opts.env, logger: opts.logger });
    },
    ...opts.factories,
  };
  const created = new Map<Scheme, Promise<Provider>>();

  return {
    get(scheme) {
      const existing = created.get(scheme);
      if (existing) return existing;
      const factory = Object.hasOwn(factories, scheme) ? factories[scheme] : undefined;
      if (!factory) return Promise.reject(new InternalError(`no provider for scheme ${String(scheme)}`));
      const pending = factory()
        .then((provider) => recordingValues(provider, knownSecrets))
        .catch((err: unknown) => {
          created.delete(scheme);
          throw toSecrunError(err);
        });
      created.set(scheme, pending);
      return pending;
    },
    async closeAll(closeOpts) {
      const pending = [...created];
      created.clear();
      await Promise.all(
        pending.map(async ([scheme, promise]) => {
          try {
            await (await promise).close(closeOpts);
          } catch (err) {
            const e = toSecrunError(err);
            opts.logger.warn('could not close a provider', { provider: scheme, code: e.code });
          }
        }),
      );
    },
    loaded: () => [...created.keys()],
    async providers() {
      const settled = await Promise.allSettled(created.values());
      return settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    },
    async session() {
      return (await this.providers()).find(hasSession);
    },
    knownSecrets,
  };
}

/** The provider, with every value it reads added to `known` (the same object, patched). */
function recordingValues(provider: Provider, known: Set<string>): Provider {
  const readAll = provider.readAll.bind(provider);
  provider.readAll = async (requests, signal) => {
    const results = await readAll(requests, signal);
    for (const r of results.values()) {
      if (!r.ok) continue;
      const v = r.doc.value;
      collectStrings(v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v, known);
      if (v instanceof Uint8Array) collectStrings(Buffer.from(v).toString('utf8'), known);
    }
    return results;
  };
  return provider;
}
