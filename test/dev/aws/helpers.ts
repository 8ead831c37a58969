import { readFileSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  type SecretsManagerDevServer,
  type SecretsManagerDevServerOptions,
  startSecretsManagerServer,
} from '../../../src/dev/aws/server.ts';
import { parseSeed, type Seed } from '../../../src/dev/seed.ts';

// Keep the SDK away from the developer's ~/.aws (reference section 5); a missing file reads as empty.
process.env['AWS_CONFIG_FILE'] = '/nonexistent/secrun-test-aws-config';
process.env['AWS_SHARED_CREDENTIALS_FILE'] = '/nonexistent/secrun-test-aws-credentials';

/** Version ids (UUIDs) that tests give secret versions in their seeds. */
export const V1 = '11111111-1111-4111-8111-111111111111';
export const V2 = '22222222-2222-4222-8222-222222222222';
export const V3 = '33333333-3333-4333-8333-333333333333';

export const FIXTURE = new URL('../../fixtures/aws-seed.yaml', import.meta.url);

export function fixtureSeed(): Seed {
  return parseSeed(readFileSync(FIXTURE, 'utf8'), 'aws-seed.yaml');
}

/** Starts a server (fixture seed unless `seed` is given) and closes it after the test. */
export async function startServer(
  t: TestContext,
  opts: SecretsManagerDevServerOptions = {},
): Promise<SecretsManagerDevServer> {
  const server = await startSecretsManagerServer({ seed: fixtureSeed(), ...opts });
  t.after(() => server.close());
  return server;
}

/** The real SDK client pointed at the server, one attempt unless told otherwise. */
export function clientFor(
  server: SecretsManagerDevServer,
  over: { maxAttempts?: number; credentials?: SecretsManagerDevServer['credentials']; region?: string } = {},
): SecretsManagerClient {
  return new SecretsManagerClient({
    endpoint: server.url,
    region: over.region ?? server.region,
    credentials: over.credentials ?? server.credentials,
    maxAttempts: over.maxAttempts ?? 1,
  });
}

/** The environment that points the AWS SDK at the server (or at `endpoint`, e.g. a proxy before it). */
export function awsEnvFor(server: SecretsManagerDevServer, endpoint = server.url): Record<string, string> {
  return {
    AWS_REGION: server.region,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint,
    AWS_ACCESS_KEY_ID: server.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: server.credentials.secretAccessKey,
  };
}

/** The shape every SDK service error has. */
export interface SdkError {
  name: string;
  message: string;
  $fault?: string;
  $metadata: { httpStatusCode?: number; requestId?: string; attempts?: number };
  $response?: { headers: Record<string, string> };
}

/** Runs `fn`, expects it to reject, returns the error. */
export async function rejection(fn: () => Promise<unknown>): Promise<SdkError> {
  try {
    await fn();
  } catch (err) {
    return err as SdkError;
  }
  throw new Error('expected the call to fail, but it succeeded');
}
