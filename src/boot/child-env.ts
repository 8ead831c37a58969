import { InternalError } from '../base/errors.ts';
import { checkEnvPattern } from '../refs/env-pattern.ts';
import { isEnvRef } from '../refs/index.ts';

/** Variables `--pristine` keeps from the inherited environment. */
export const PRISTINE_VARIABLES: readonly string[] = ['PATH', 'HOME', 'USER', 'LANG', 'TZ', 'TERM'];

/**
 * The agent's own credentials, stripped from the inherited environment by default. The agent adds
 * the names of the auth secrets it consumed (`secret_id_env`, `jwt_env`). AWS credentials are
 * deliberately not here: they are usually the workload's own identity, which the child shares
 * (IRSA and ECS hand it the same role through files and endpoints anyway), and stripping them
 * breaks children that call AWS. Use `--drop 'AWS_*'` to remove them.
 */
export const DEFAULT_AGENT_CREDENTIALS: readonly string[] = ['VAULT_TOKEN', 'VAULT_SECRET_ID'];

/** Input of {@link buildChildEnv}. Nothing in it is modified. */
export interface ChildEnvOptions {
  /** The agent's inherited environment (e.g. a copy of `process.env`). */
  inherited: Readonly<Record<string, string | undefined>>;
  /** Resolved values by variable (explicit, env-scanned and imported references). */
  values: ReadonlyMap<string, string>;
  /** Inherited variables whose value was a reference; every one of them must be in `values`. */
  refVariables: Iterable<string>;
  /** Start from {@link PRISTINE_VARIABLES} plus what is configured or kept. */
  pristine?: boolean;
  /** `--keep`: names or `PREFIX*` globs kept even if pristine or credential stripping would drop them. */
  keep?: readonly string[];
  /** `--drop`: names or `PREFIX*` globs removed, including resolved ones. Drop beats keep. */
  drop?: readonly string[];
  /** Names stripped from the inherited environment; default {@link DEFAULT_AGENT_CREDENTIALS}. */
  agentCredentials?: readonly string[];
  /** Inherited names that are configured for the child (they survive `--pristine`). */
  configuredNames?: Iterable<string>;
  /**
   * False with `--no-env-refs`: inherited reference-like values are literals and pass through.
   * Default true: any inherited reference-like value without a resolved value is refused.
   */
  envRefsScanned?: boolean;
}

/** A matcher for a list of names / `PREFIX*` globs. */
function matcher(patterns: readonly string[]): (name: string) => boolean {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const p of patterns) {
    checkEnvPattern(p);
    if (p.endsWith('*')) prefixes.push(p.slice(0, -1));
    else exact.add(p);
  }
  return (name) => exact.has(name) || prefixes.some((prefix) => name.startsWith(prefix));
}

function unresolved(name: string): InternalError {
  return new InternalError(
    `variable ${name} holds a reference that was not resolved; refusing to start the child`,
    'internal.unresolvedRef',
  );
}

/**
 * Builds the child's environment as a new object (design.md section 6):
 * inherited variables, minus the agent's credentials, minus `drop`, with every reference
 * variable replaced by its resolved value, plus resolved values. `pristine` keeps only
 * {@link PRISTINE_VARIABLES}, configured names and `keep` from the inherited environment.
 * Inherited values that look like references but were not scanned (`--no-env-refs`) pass through.
 *
 * @throws InternalError `internal.unresolvedRef` when a reference variable has no value — the raw
 *   reference must never reach the child; UsageError for a bad keep/drop pattern.
 */
export function buildChildEnv(opts: ChildEnvOptions): Record<string, string> {
  const keep = matcher(opts.keep ?? []);
  const drop = matcher(opts.drop ?? []);
  const credentials = new Set(opts.agentCredentials ?? DEFAULT_AGENT_CREDENTIALS);
  const pristineBase = new Set(PRISTINE_VARIABLES);
  const configured = new Set(opts.configuredNames ?? []);
  const refVariables = new Set(opts.refVariables);

  const scanned = opts.envRefsScanned ?? true;
  for (const name of refVariables) {
    if (!opts.values.has(name)) throw unresolved(name);
  }

  // A Map, then Object.fromEntries: own data properties throughout (a plain assignment to
  // "__proto__" would change the prototype instead), and cheap with thousands of variables.
  const out = new Map<string, string>();
  for (const [name, value] of Object.entries(opts.inherited)) {
    if (value === undefined || drop(name)) continue;
    if (opts.values.has(name)) continue;
    if (scanned && isEnvRef(value)) throw unresolved(name);
    const kept = keep(name);
    if (!kept && credentials.has(name)) continue;
    if (opts.pristine && !kept && !pristineBase.has(name) && !configured.has(name)) continue;
    out.set(name, value);
  }
  for (const [name, value] of opts.values) {
    if (!drop(name)) out.set(name, value);
  }
  return Object.fromEntries(out);
}
