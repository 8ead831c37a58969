/**
 * The Vault transport's public surface. Each piece lives in `./vault/`: settings (`VAULT_*`),
 * TLS material, the HTTP layer under node-vault, raw errors and their mapping, and the client.
 */

export { isLoopbackHost } from './net.ts';
export { certificateFacts, type VaultCertFact } from './vault/cert-facts.ts';
export {
  VaultClient,
  type VaultClientOptions,
  type VaultEnvelope,
  type VaultRequest,
} from './vault/client.ts';
export { parseDurationMs, parseGoBool } from './vault/env-values.ts';
export { type ErrorContext, mapVaultError } from './vault/error-map.ts';
export {
  cleanVaultMessage,
  type KvVersionState,
  type TransportKind,
  VaultHttpError,
  VaultTransportError,
} from './vault/errors.ts';
export { encodePath } from './vault/path.ts';
export { classifyVaultError } from './vault/retry-policy.ts';
export {
  DEFAULT_MAX_RETRIES,
  DEFAULT_TIMEOUT_MS,
  DEFAULT_VAULT_ADDR,
  readVaultSettings,
  type VaultSettings,
  type VaultSettingsOverrides,
  type VaultTlsSettings,
} from './vault/settings.ts';
export {
  buildTlsOptions,
  checkClientPair,
  loadTlsMaterial,
  type TlsCertSource,
  type TlsFileReader,
  type TlsMaterial,
} from './vault/tls.ts';
