/**
 * The `on_change` policy as pure functions: which variables changed between two environments,
 * and what to do about them.
 */
import type { OnChange } from '../config/index.ts';

/** What to do about one batch of changed variables. */
export interface ChangePlan {
  action: OnChange['action'];
  /** Distinct signals to send, in variable order (only for `signal`). */
  signals: NodeJS.Signals[];
  /** The changed variable names (sorted). */
  variables: string[];
}

const STRENGTH: Record<OnChange['action'], number> = { ignore: 0, signal: 1, restart: 2, exit: 3 };

/** The stronger of two actions (exit > restart > signal > ignore); `a` on a tie. */
export function strongerAction(a: OnChange['action'], b: OnChange['action']): OnChange['action'] {
  return STRENGTH[b] > STRENGTH[a] ? b : a;
}

/** Names whose value differs between two environments (added, removed or changed), sorted. */
export function changedVariables(
  before: Readonly<Record<string, string>>,
  after: Readonly<Record<string, string>>,
): string[] {
  const names = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...names].filter((n) => before[n] !== after[n]).sort();
}

/**
 * The action for a set of changed variables: each variable's own `on_change` (config `env:`),
 * else the global one; the strongest wins (exit > restart > signal > ignore). When the winner is
 * `signal`, every distinct signal of the variables asking for one is sent.
 */
export function planChange(
  variables: readonly string[],
  policy: { global: OnChange; perVariable: ReadonlyMap<string, OnChange> },
): ChangePlan {
  let action: OnChange['action'] = 'ignore';
  const signals: NodeJS.Signals[] = [];
  for (const name of variables) {
    const p = policy.perVariable.get(name) ?? policy.global;
    action = strongerAction(action, p.action);
    if (p.action === 'signal' && !signals.includes(p.signal)) signals.push(p.signal);
  }
  return { action, signals: action === 'signal' ? signals : [], variables: [...variables].sort() };
}
