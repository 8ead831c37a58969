import type { VaultAuthContext } from '../provider.ts';
import { readCredential } from './credentials.ts';
import { postLogin } from './method-login.ts';
import type { MethodDeps, VaultLoginResult } from './types.ts';

/** Where Kubernetes mounts the pod's service-account token. */
export const DEFAULT_K8S_TOKEN_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/**
 * Kubernetes: the service-account JWT from `token_file` posted with the role to
 * `auth/<mount>/login`. The mount is always explicit (node-vault's `kubernetesLogin` posts to
 * `/auth//login`).
 */
export async function kubernetesLogin(ctx: VaultAuthContext, deps: MethodDeps): Promise<VaultLoginResult> {
  const file = deps.settings.tokenFile ?? DEFAULT_K8S_TOKEN_FILE;
  const jwt = await readCredential(deps, { file }, 'Kubernetes service-account token', {
    hint: 'is the service-account token mounted (automountServiceAccountToken) or vault.auth.token_file wrong?',
  });
  return postLogin(ctx, deps, { role: deps.settings.role, jwt }, [jwt]);
}
