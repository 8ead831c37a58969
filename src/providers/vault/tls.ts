import type { KeyObject, X509Certificate } from 'node:crypto';
import { constants as fsConstants, readdirSync, readFileSync, statSync } from 'node:fs';
import type https from 'node:https';
import { join } from 'node:path';
import { nodeCrypto } from '../../base/builtins.ts';
import { ConfigError } from '../../base/errors.ts';
import type { Logger } from '../../base/log.ts';
import type { VaultTlsSettings } from './env-settings.ts';

/** Reads files; injectable for tests. */
export interface TlsFileReader {
  readFile(path: string): Buffer;
  readDir(path: string): string[];
  /** File mode bits, or undefined when unknown. */
  mode(path: string): number | undefined;
}

const realFiles: TlsFileReader = {
  readFile: (p) => readFileSync(p),
  readDir: (p) => readdirSync(p),
  mode: (p) => {
    try {
      return statSync(p).mode;
    } catch {
      return undefined;
    }
  },
};

/** A certificate file in use, kept so `secrun check` can report its expiry. */
export interface TlsCertSource {
  role: 'ca' | 'client';
  /** The file (or `VAULT_CACERT_BYTES`). */
  file: string;
  pem: Buffer;
}

/** The agent options plus the certificates they were built from. */
export interface TlsMaterial {
  options: https.AgentOptions;
  certs: TlsCertSource[];
}

/**
 * Builds the https.Agent options: verification on unless `skipVerify`, TLS ≥ 1.2, custom CA,
 * client certificate and SNI. Every option is explicit so neither node-vault's reading of
 * `process.env.VAULT_SKIP_VERIFY` nor `NODE_TLS_REJECT_UNAUTHORIZED` can change it.
 */
export function buildTlsOptions(
  tls: VaultTlsSettings,
  logger?: Logger,
  files: TlsFileReader = realFiles,
): https.AgentOptions {
  return loadTlsMaterial(tls, logger, files).options;
}

/** {@link buildTlsOptions}, also returning the certificate files it loaded. */
export function loadTlsMaterial(
  tls: VaultTlsSettings,
  logger?: Logger,
  files: TlsFileReader = realFiles,
): TlsMaterial {
  const load = (path: string, what: string): Buffer => {
    try {
      return files.readFile(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw new ConfigError(`cannot read ${what} ${path} (${code})`, 'vault.tlsFile', { path });
    }
  };
  const opts: https.AgentOptions = {
    keepAlive: true,
    minVersion: 'TLSv1.2',
    rejectUnauthorized: !tls.skipVerify,
  };
  const certs: TlsCertSource[] = [];
  const ca: Buffer[] = [];
  const addCa = (file: string, pem: Buffer) => {
    ca.push(pem);
    certs.push({ role: 'ca', file, pem });
  };
  if (tls.caCert) addCa(tls.caCert, load(tls.caCert, 'VAULT_CACERT'));
  else if (tls.caCertBytes) addCa('VAULT_CACERT_BYTES', Buffer.from(tls.caCertBytes));
  else if (tls.caPath) {
    let names: string[];
    try {
      names = files.readDir(tls.caPath).sort();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw new ConfigError(`cannot read VAULT_CAPATH ${tls.caPath} (${code})`, 'vault.tlsFile', {
        path: tls.caPath,
      });
    }
    for (const n of names) {
      if (/\.(pem|crt|cer)$/i.test(n)) {
        const file = join(tls.caPath, n);
        addCa(file, load(file, 'VAULT_CAPATH file'));
      }
    }
    if (ca.length === 0) {
      throw new ConfigError(`VAULT_CAPATH ${tls.caPath} holds no .pem/.crt files`, 'vault.tlsFile', {
        path: tls.caPath,
      });
    }
  }
  if (ca.length > 0) opts.ca = ca;
  if (tls.clientCert && tls.clientKey) {
    opts.cert = load(tls.clientCert, 'VAULT_CLIENT_CERT');
    opts.key = load(tls.clientKey, 'VAULT_CLIENT_KEY');
    certs.push({ role: 'client', file: tls.clientCert, pem: opts.cert });
    const mode = files.mode(tls.clientKey);
    if (mode !== undefined && (mode & (fsConstants.S_IRWXG | fsConstants.S_IRWXO)) !== 0) {
      logger?.warn('the Vault client key is readable by other users; chmod 600 it', { path: tls.clientKey });
    }
  }
  if (tls.serverName) opts.servername = tls.serverName;
  if (tls.skipVerify) {
    logger?.warn(
      'TLS VERIFICATION IS OFF for Vault (VAULT_SKIP_VERIFY / vault.tls.skip_verify): anyone on the network ' +
        'path can impersonate Vault and take the token; use VAULT_CACERT instead',
    );
  }
  return { options: opts, certs };
}

/**
 * Checks that the client certificate and key parse and belong together, before any request. A
 * ConfigError names the file, never its contents. Encrypted keys are not supported.
 */
export function checkClientPair(tls: VaultTlsSettings, cert: Buffer, key: Buffer): void {
  let x509: X509Certificate;
  try {
    x509 = new (nodeCrypto().X509Certificate)(cert);
  } catch {
    throw new ConfigError(`VAULT_CLIENT_CERT ${tls.clientCert} is not a PEM certificate`, 'vault.tlsFile', {
      path: tls.clientCert,
    });
  }
  let privateKey: KeyObject;
  try {
    privateKey = nodeCrypto().createPrivateKey(key);
  } catch {
    throw new ConfigError(
      `VAULT_CLIENT_KEY ${tls.clientKey} is not an unencrypted PEM private key`,
      'vault.tlsFile',
      { path: tls.clientKey },
    );
  }
  if (!x509.checkPrivateKey(privateKey)) {
    throw new ConfigError(
      `VAULT_CLIENT_KEY ${tls.clientKey} does not belong to VAULT_CLIENT_CERT ${tls.clientCert}`,
      'vault.tlsFile',
      { path: tls.clientKey },
    );
  }
}
