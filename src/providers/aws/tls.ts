import { readFileSync } from 'node:fs';
import type https from 'node:https';
import { nodeCrypto } from '../../base/builtins.ts';
import { ConfigError } from '../../base/errors.ts';
import { MAX_CONCURRENT_REQUESTS } from '../../base/limit.ts';

/** TLS and endpoint settings of the Secrets Manager client. */

/**
 * The https.Agent options for Secrets Manager: verification always on and TLS 1.2 at least, set
 * per agent so `NODE_TLS_REJECT_UNAUTHORIZED=0` cannot turn it off. `AWS_CA_BUNDLE` (which this
 * SDK version does not read itself) replaces the default CAs, as in the AWS CLI; an unreadable
 * or non-PEM bundle is a ConfigError.
 */
export function awsTlsOptions(
  env: Record<string, string | undefined>,
  readFile: (path: string) => Buffer = readFileSync,
): https.AgentOptions {
  const opts: https.AgentOptions = {
    keepAlive: true,
    maxSockets: MAX_CONCURRENT_REQUESTS,
    minVersion: 'TLSv1.2',
    rejectUnauthorized: true,
  };
  const bundle = env.AWS_CA_BUNDLE;
  if (!bundle) return opts;
  let pem: Buffer;
  try {
    pem = readFile(bundle);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError(`cannot read AWS_CA_BUNDLE ${bundle} (${code})`, 'awssm.caBundle', {
      path: bundle,
    });
  }
  try {
    new (nodeCrypto().X509Certificate)(pem);
  } catch {
    throw new ConfigError(
      `AWS_CA_BUNDLE ${bundle} is not a PEM certificate file; point it at the CA certificate(s) of the endpoint`,
      'awssm.caBundle',
      { path: bundle },
    );
  }
  opts.ca = pem;
  return opts;
}

/** The endpoint for messages: the origin of a configured URL, else the AWS host of the region. */
export function endpointLabel(endpoint: string | undefined, region: string | undefined): string | undefined {
  if (endpoint) {
    try {
      return new URL(endpoint).origin;
    } catch {
      return undefined;
    }
  }
  return region ? `https://secretsmanager.${region}.amazonaws.com` : undefined;
}
