import { RefError } from './errors.ts';

/** The field part of a reference: `#name` or `#/json/pointer`. */
export type FieldSelector =
  | { kind: 'key'; name: string }
  | { kind: 'pointer'; tokens: string[]; text: string };

/** A parsed secret reference. The reference text is not a secret and may be printed. */
export interface SecretRef {
  scheme: 'vault' | 'awssm';
  /** The reference as written. */
  raw: string;
  /** Vault path without leading/trailing slashes, or Secrets Manager name / ARN. */
  path: string;
  /** Parsed `?a=b&c=d` options (validated per scheme). */
  options: Record<string, string>;
  field?: FieldSelector;
  /** Document identity: scheme + path + sorted options (no field). One read per key. */
  documentKey: string;
}

/** True when the value starts with a registered scheme (`vault:`, `awssm:`, `arn:aws:secretsmanager:`). */
export function isRef(value: string): boolean {
  void value;
  throw new RefError('not implemented');
}

/** Parses a reference; throws RefError (code `ref.*`) only. */
export function parseRef(value: string): SecretRef {
  void value;
  throw new RefError('not implemented');
}
