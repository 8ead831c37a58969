import { InternalError } from '../../base/errors.ts';
import { buildCheckInfo, formatVaultCheck } from './check.ts';
import { VaultClient } from './client.ts';
import { createVaultDescribe } from './describe.ts';
import { createDocumentReader } from './documents.ts';
import { readVaultSettings } from './env-settings.ts';
import { mapVaultError } from './error-map.ts';
import { MountCache, mountLookup } from './kv-mounts.ts';
import { createVaultProbe } from './probe.ts';
import type { VaultProvider, VaultProviderOptions } from './provider-types.ts';
import { createVaultSession } from './session.ts';
import { tokenAuth } from './token-auth.ts';
import { loginSummaryOf, reloginInfoOf, VaultLogin } from './token-holder.ts';

export {
  CERT_WARN_DAYS,
  formatVaultCheck,
  type VaultAuthInfo,
  type VaultCheckInfo,
  vaultCheckInfo,
} from './check.ts';
export type { VaultProvider, VaultProviderOptions } from './provider-types.ts';
export type { VaultRenewal, VaultSession, VaultTokenInfo } from './session.ts';
export {
  tokenAuth,
  type VaultAuth,
  type VaultAuthContext,
  type VaultAuthResult,
} from './token-auth.ts';
export type { VaultLoginSummary, VaultReloginInfo } from './token-holder.ts';

/**
 * Creates the Vault provider. Settings are validated now (ConfigError before any connection);
 * authentication happens on first use and is shared by concurrent callers.
 */
export function createVaultProvider(opts: VaultProviderOptions): VaultProvider {
  const settings = readVaultSettings(opts.env, {
    address: opts.address,
    namespace: opts.namespace,
    tls: opts.tls,
    timeoutMs: opts.timeoutMs,
    maxRetries: opts.maxRetries,
    allowInsecureHttp: opts.allowInsecureHttp,
  });
  const client = new VaultClient(settings, {
    logger: opts.logger,
    retry: opts.retry,
    files: opts.files,
    lookup: opts.lookup,
    knownSecrets: opts.knownSecrets,
  });
  if (opts.env.NODE_TLS_REJECT_UNAUTHORIZED === '0' && settings.address.startsWith('https:')) {
    opts.logger.warn(
      'NODE_TLS_REJECT_UNAUTHORIZED=0 is set; secrun ignores it for Vault and still verifies the certificate',
    );
  }
  const login = new VaultLogin(
    opts.auth ?? tokenAuth(opts.token),
    { env: opts.env, homeDir: opts.homeDir, logger: opts.logger },
    client,
  );
  const authenticate = (signal: AbortSignal) => login.authenticate(signal);
  const mounts = new MountCache(mountLookup(client));
  const probeDocument = createVaultProbe({ client, mounts, logger: opts.logger });
  const readDocuments = createDocumentReader(client, mounts);
  const describeDocument = createVaultDescribe({ client, mounts });
  const session = createVaultSession(client, authenticate);
  let closed = false;
  const assertOpen = () => {
    if (closed) throw new InternalError('the Vault provider is closed', 'vault.closed');
  };

  return {
    scheme: 'vault',
    get authMethod() {
      return login.result?.method;
    },
    get loginSummary() {
      const r = login.result;
      return r ? loginSummaryOf(r) : undefined;
    },

    async probe(req, signal) {
      assertOpen();
      await authenticate(signal);
      return probeDocument(req, signal);
    },

    async describe(req, signal) {
      assertOpen();
      await authenticate(signal);
      return describeDocument(req, signal);
    },

    async readAll(requests, signal) {
      assertOpen();
      await authenticate(signal);
      return readDocuments(requests, signal);
    },

    renewLease: session.renewLease,
    revokeLease: session.revokeLease,
    lookupSelf: session.lookupSelf,
    renewSelf: session.renewSelf,
    revokeSelf: session.revokeSelf,

    consumedVariables: () => [...(opts.consumedVariables ?? [])],

    async checkFacts(signal) {
      const info = await this.checkInfo(signal);
      const certificates = info.certificates.map((c) => ({
        label: `Vault ${c.role === 'ca' ? 'CA' : 'client'} certificate ${c.file}`,
        subject: c.subject,
        notAfter: c.notAfter,
      }));
      return { key: 'vault', facts: info, text: formatVaultCheck(info), certificates };
    },

    async checkInfo(signal, now = new Date()) {
      const s = signal ?? AbortSignal.timeout(settings.timeoutMs);
      const current = await authenticate(s);
      return buildCheckInfo(client, current, opts.logger, s, now);
    },

    async relogin(signal) {
      assertOpen();
      const next = await login.relogin(signal ?? AbortSignal.timeout(settings.timeoutMs));
      return next ? reloginInfoOf(next) : undefined;
    },

    async close(closeOpts) {
      if (closed) return;
      closed = true;
      try {
        if (login.result?.owned && !closeOpts?.keepToken) {
          await client
            .request({ method: 'POST', path: 'auth/token/revoke-self', signal: AbortSignal.timeout(5000) })
            .catch((err: unknown) =>
              opts.logger.warn('could not revoke the Vault token', {
                reason: mapVaultError(err, client.errorContext()).message,
              }),
            );
        }
      } finally {
        client.setToken(undefined);
        client.close();
      }
    },
  };
}
