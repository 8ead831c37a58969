import type { SuperviseContext } from './context.ts';
import type { LeaseTracker } from './leases.ts';

/**
 * The end of a run: revokes every lease it created and its login token — or, with `keep`
 * (`--no-revoke`), leaves both valid — and closes the providers.
 */
export async function revokeAtExit(
  ctx: SuperviseContext,
  leases: LeaseTracker,
  keep: boolean,
): Promise<void> {
  const registry = ctx.registry;
  if (keep) {
    if (leases.size > 0 || (await ctx.session().catch(() => undefined))) {
      ctx.log.info('--no-revoke: leases and the Vault token are left valid');
    }
    await registry.closeAll({ keepToken: true });
    return;
  }
  await leases.revoke();
  let method: string | undefined;
  try {
    method = (await ctx.session())?.authMethod;
  } catch {
    method = undefined;
  }
  await registry.closeAll();
  if (method !== undefined && method !== 'token') ctx.audit.record('auth.revoke', { method });
}
