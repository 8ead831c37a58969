/** The ways a Secrets Manager ARN starts, one per AWS partition. */
export const ARN_PREFIXES: readonly string[] = [
  'arn:aws:secretsmanager:',
  'arn:aws-cn:secretsmanager:',
  'arn:aws-us-gov:secretsmanager:',
];

/**
 * True when the value starts with a registered scheme: `vault:`, `awssm:` or a Secrets Manager
 * ARN (`arn:aws:secretsmanager:`, `arn:aws-cn:...`, `arn:aws-us-gov:...`). Case-sensitive.
 * Anything else (`postgres://...`, `https://...`, plain text) is not a reference.
 */
export function isRef(value: string): boolean {
  if (typeof value !== 'string') return false;
  return (
    value.startsWith('vault:') || value.startsWith('awssm:') || ARN_PREFIXES.some((p) => value.startsWith(p))
  );
}

/**
 * {@link isRef} for values found in the inherited environment: `vault:` and `awssm:` values are
 * references, but a bare Secrets Manager ARN only when it has a `#field` or `?options`. Apps are
 * often handed `*_SECRET_ARN` variables to fetch the secret themselves; those pass through.
 */
export function isEnvRef(value: string): boolean {
  if (typeof value !== 'string') return false;
  if (value.startsWith('vault:') || value.startsWith('awssm:')) return true;
  return ARN_PREFIXES.some((p) => value.startsWith(p)) && (value.includes('#') || value.includes('?'));
}

/** Shown in place of a value that is not a reference: such a value may be a secret. */
export const NOT_A_REFERENCE = '(not a reference)';

/** The value for the reference column of a failure: itself if it is a reference, else a placeholder. */
export function shownValue(value: string): string {
  return isRef(value) ? value : NOT_A_REFERENCE;
}
