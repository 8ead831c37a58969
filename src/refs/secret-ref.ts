/** The field part of a reference: `#name` or `#/json/pointer`. */
export type FieldSelector =
  | { kind: 'key'; name: string }
  | { kind: 'pointer'; tokens: string[]; text: string };

/** A parsed secret reference. The reference text is not a secret and may be printed. */
export interface SecretRef {
  scheme: 'vault' | 'awssm';
  /** The reference as written. */
  raw: string;
  /** Vault path without leading/trailing slashes, or Secrets Manager name / ARN (percent-decoded). */
  path: string;
  /**
   * Options that select the document: `version` (vault), `version-stage` / `version-id` (awssm).
   * Presentation options such as `encoding` are not here, so they never split a document.
   */
  options: Record<string, string>;
  field?: FieldSelector;
  /** Document identity: scheme + path + sorted options (no field). One read per key. */
  documentKey: string;
  /** Region taken from an ARN (`arn:aws:secretsmanager:<region>:...`); absent for plain names. */
  region?: string;
  /** `?encoding=base64` (awssm only): hand the secret's bytes to the child base64-encoded. */
  encoding?: 'base64';
  /**
   * Parameters of a Vault write that a config entry marked (`write: true` with `params:`): the
   * document is fetched by one write of them instead of a read. Never set from a reference's
   * text, so a variable alone can never make secrun write.
   */
  write?: Readonly<Record<string, string>>;
}
