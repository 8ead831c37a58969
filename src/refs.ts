import type { SecrunError } from './errors.ts';
import { ConfigError, NotFoundError, RefError, ResolveError, toSecrunError, UsageError } from './errors.ts';

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
}

const ARN_PREFIXES = [
  'arn:aws:secretsmanager:',
  'arn:aws-cn:secretsmanager:',
  'arn:aws-us-gov:secretsmanager:',
];
const VALID_ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const CONTROL = /[\u0000-\u001f\u007f]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const AWS_NAME = /^[A-Za-z0-9/_+=.@-]+$/;
const MAX_SHOWN = 200;

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

/** True when `name` is a valid environment variable name (`[A-Za-z_][A-Za-z0-9_]*`). */
export function isValidEnvName(name: string): boolean {
  return VALID_ENV_NAME.test(name);
}

/** Quotes a reference for messages; long ones are shortened, control characters escaped. */
export function showRef(raw: string): string {
  const text = raw.length > MAX_SHOWN ? `${raw.slice(0, MAX_SHOWN)}...` : raw;
  return JSON.stringify(text);
}

function refError(raw: string, code: string, problem: string): RefError {
  return new RefError(`reference ${showRef(raw)}: ${problem}`, code);
}

function decode(raw: string, part: string, text: string): string {
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    throw refError(
      raw,
      'ref.badEncoding',
      `bad percent-encoding in the ${part}; write a literal % as %25 and use %XX with two hex digits`,
    );
  }
}

function noControl(raw: string, part: string, text: string): void {
  if (CONTROL.test(text)) {
    throw refError(raw, 'ref.controlChar', `the ${part} contains a control character; remove it`);
  }
}

/**
 * Parses a reference (see the grammar in design.md section 3):
 *
 * - `vault:<path>[?version=<N>][#<field>]` — leading/trailing `/` are stripped; empty, `.` or `..`
 *   segments are rejected. `version` must be a positive integer (`0` is rejected: omit `?version`
 *   for the latest).
 * - `awssm:<name-or-arn>[?version-stage=<stage>|?version-id=<id>][&encoding=base64][#<field>]`
 * - `arn:aws:secretsmanager:<region>:<account>:secret:<name>[?...][#<field>]` — same as `awssm:`;
 *   the region is taken from the ARN.
 * - `#name` picks a top-level field (percent-decoded, so `%23` is a `#`); `#/a/b` is a JSON
 *   Pointer (RFC 6901, `~1` = `/`, `~0` = `~`).
 *
 * Path, option values and field are percent-decoded.
 *
 * @throws RefError (codes `ref.unknownScheme`, `ref.emptyPath`, `ref.badPath`, `ref.badArn`,
 *   `ref.badName`, `ref.unknownOption`, `ref.duplicateOption`, `ref.badOption`,
 *   `ref.conflictingOptions`, `ref.badVersion`, `ref.badField`, `ref.badEncoding`,
 *   `ref.controlChar`) and nothing else.
 */
export function parseRef(value: string): SecretRef {
  const raw = String(value);
  if (LONE_SURROGATE.test(raw)) {
    throw refError(
      raw,
      'ref.badEncoding',
      'the reference is not well-formed Unicode (a lone surrogate); retype it',
    );
  }
  let scheme: 'vault' | 'awssm';
  let rest: string;
  if (raw.startsWith('vault:')) {
    scheme = 'vault';
    rest = raw.slice('vault:'.length);
  } else if (raw.startsWith('awssm:')) {
    scheme = 'awssm';
    rest = raw.slice('awssm:'.length);
  } else if (ARN_PREFIXES.some((p) => raw.startsWith(p))) {
    scheme = 'awssm';
    rest = raw;
  } else {
    throw refError(
      raw,
      'ref.unknownScheme',
      'not a reference; references start with vault:, awssm: or arn:aws:secretsmanager:',
    );
  }

  const hash = rest.indexOf('#');
  const beforeField = hash === -1 ? rest : rest.slice(0, hash);
  const fieldText = hash === -1 ? undefined : rest.slice(hash + 1);
  const question = beforeField.indexOf('?');
  const pathText = question === -1 ? beforeField : beforeField.slice(0, question);
  const optionText = question === -1 ? undefined : beforeField.slice(question + 1);

  const parsedPath = scheme === 'vault' ? parseVaultPath(raw, pathText) : parseAwsId(raw, pathText);
  const { options, encoding } = parseOptions(raw, scheme, optionText);
  const field = fieldText === undefined ? undefined : parseField(raw, fieldText);
  if (encoding && field) {
    throw refError(
      raw,
      'ref.conflictingOptions',
      'encoding=base64 returns the whole secret and cannot be combined with #field; remove one',
    );
  }

  const ref: SecretRef = {
    scheme,
    raw,
    path: parsedPath.path,
    options,
    documentKey: documentKeyOf(scheme, parsedPath.path, options),
  };
  if (field) ref.field = field;
  if (parsedPath.region) ref.region = parsedPath.region;
  if (encoding) ref.encoding = encoding;
  return ref;
}

/** `${scheme}:${path}?${sorted options}` — shared by every reference to one document. */
export function documentKeyOf(scheme: string, path: string, options: Record<string, string>): string {
  const opts = Object.keys(options)
    .sort()
    .map((k) => `${encodeURIComponent(k)}=${encodeURIComponent(options[k] ?? '')}`)
    .join('&');
  return `${scheme}:${path.replace(/%/g, '%25').replace(/\?/g, '%3F')}?${opts}`;
}

function parseVaultPath(raw: string, text: string): { path: string; region?: string } {
  const decoded = decode(raw, 'path', text);
  noControl(raw, 'path', decoded);
  const path = decoded.replace(/^\/+/, '').replace(/\/+$/, '');
  if (path === '') {
    throw refError(raw, 'ref.emptyPath', 'the Vault path is empty; write vault:<mount>/<path>[#field]');
  }
  for (const segment of path.split('/')) {
    if (segment === '') {
      throw refError(raw, 'ref.badPath', 'the Vault path contains "//"; remove the empty segment');
    }
    if (segment === '.' || segment === '..') {
      throw refError(
        raw,
        'ref.badPath',
        `the Vault path contains a "${segment}" segment; write the full path`,
      );
    }
  }
  return { path };
}

function parseAwsId(raw: string, text: string): { path: string; region?: string } {
  const path = decode(raw, 'secret id', text);
  noControl(raw, 'secret id', path);
  if (path === '') {
    throw refError(raw, 'ref.emptyPath', 'the secret name is empty; write awssm:<name-or-arn>[#field]');
  }
  if (path.startsWith('arn:')) {
    // arn:<partition>:secretsmanager:<region>:<account>:secret:<name>; the name may not contain ':'.
    const parts = path.split(':');
    const [, partition, service, region, account, kind, ...nameParts] = parts;
    const name = nameParts.join(':');
    const ok =
      parts.length === 7 &&
      (partition === 'aws' || partition === 'aws-cn' || partition === 'aws-us-gov') &&
      service === 'secretsmanager' &&
      region !== undefined &&
      /^[a-z]{2}(-[a-z0-9]+)+$/.test(region) &&
      account !== undefined &&
      /^\d{12}$/.test(account) &&
      kind === 'secret';
    if (!ok) {
      throw refError(
        raw,
        'ref.badArn',
        'malformed Secrets Manager ARN; expected arn:aws:secretsmanager:<region>:<12-digit account>:secret:<name>',
      );
    }
    if (!AWS_NAME.test(name)) {
      throw refError(
        raw,
        'ref.badName',
        'the secret name in the ARN is empty or has characters Secrets Manager does not allow (letters, digits, /_+=.@-)',
      );
    }
    return { path, region: region as string };
  }
  if (!AWS_NAME.test(path)) {
    throw refError(
      raw,
      'ref.badName',
      'the secret name has characters Secrets Manager does not allow; use letters, digits and /_+=.@-',
    );
  }
  return { path };
}

const OPTION_NAMES: Record<'vault' | 'awssm', string[]> = {
  vault: ['version'],
  awssm: ['version-stage', 'version-id', 'encoding'],
};

function parseOptions(
  raw: string,
  scheme: 'vault' | 'awssm',
  text: string | undefined,
): { options: Record<string, string>; encoding?: 'base64' } {
  const options: Record<string, string> = {};
  let encoding: 'base64' | undefined;
  if (text === undefined) return { options };
  const known = OPTION_NAMES[scheme];
  if (text === '') {
    throw refError(
      raw,
      'ref.badOption',
      `"?" is not followed by options; remove it or add ${known.join('|')}=...`,
    );
  }
  const seen = new Set<string>();
  for (const pair of text.split('&')) {
    const eq = pair.indexOf('=');
    const key = eq === -1 ? pair : pair.slice(0, eq);
    if (!known.includes(key)) {
      throw refError(
        raw,
        'ref.unknownOption',
        `unknown option ${JSON.stringify(key.slice(0, 40))} for ${scheme}: references; known: ${known.join(', ')}`,
      );
    }
    if (seen.has(key)) throw refError(raw, 'ref.duplicateOption', `option ${key} is given twice; keep one`);
    seen.add(key);
    const value = eq === -1 ? '' : decode(raw, `option ${key}`, pair.slice(eq + 1));
    noControl(raw, `option ${key}`, value);
    if (value === '') throw refError(raw, 'ref.badOption', `option ${key} needs a value: ${key}=<value>`);
    if (key === 'version') {
      if (!/^[1-9][0-9]*$/.test(value) || !Number.isSafeInteger(Number(value))) {
        throw refError(
          raw,
          'ref.badVersion',
          'version must be a positive integer (1, 2, ...); omit ?version for the latest',
        );
      }
      options[key] = value;
    } else if (key === 'version-stage') {
      if (value.length > 256)
        throw refError(raw, 'ref.badVersion', 'version-stage is longer than 256 characters');
      options[key] = value;
    } else if (key === 'version-id') {
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(value)) {
        throw refError(
          raw,
          'ref.badVersion',
          'version-id must be 1-64 letters, digits, "-" or "_" (usually a UUID)',
        );
      }
      options[key] = value;
    } else {
      if (value !== 'base64') throw refError(raw, 'ref.badOption', 'encoding must be base64');
      encoding = 'base64';
    }
  }
  if (options['version-stage'] !== undefined && options['version-id'] !== undefined) {
    throw refError(raw, 'ref.conflictingOptions', 'give either version-stage or version-id, not both');
  }
  return encoding ? { options, encoding } : { options };
}

function parseField(raw: string, text: string): FieldSelector {
  if (text === '')
    throw refError(raw, 'ref.badField', 'the field after "#" is empty; write #<field> or remove "#"');
  if (text.includes('#')) {
    throw refError(
      raw,
      'ref.badField',
      'the field contains a second "#"; write a "#" inside a field name as %23',
    );
  }
  const decoded = decode(raw, 'field', text);
  noControl(raw, 'field', decoded);
  if (!decoded.startsWith('/')) return { kind: 'key', name: decoded };
  const tokens = decoded
    .slice(1)
    .split('/')
    .map((token) => {
      if (/~(?![01])/.test(token)) {
        throw refError(
          raw,
          'ref.badField',
          'bad JSON Pointer escape; in #/a/b write ~0 for "~" and ~1 for "/"',
        );
      }
      return token.replace(/~1/g, '/').replace(/~0/g, '~');
    });
  return { kind: 'pointer', tokens, text: decoded };
}

/** The field selector as written in a reference (`#name`, `#/a/b`), for messages. */
export function showField(field: FieldSelector): string {
  return field.kind === 'key' ? `#${field.name}` : `#${field.text}`;
}

// ---------------------------------------------------------------------------------------------
// Field selection

function listNames(names: string[]): string {
  if (names.length === 0) return '(none)';
  const shown = names
    .slice()
    .sort()
    .slice(0, 50)
    .map((n) => JSON.stringify(n.length > 64 ? `${n.slice(0, 64)}...` : n));
  return shown.join(', ') + (names.length > 50 ? `, ... (${names.length} in all)` : '');
}

function describeContainer(value: object): string {
  return Array.isArray(value)
    ? `an array of ${value.length} items`
    : `fields ${listNames(Object.keys(value))}`;
}

function secretBytesToText(value: Uint8Array, ref: Pick<SecretRef, 'raw'>): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(value);
  } catch {
    throw new NotFoundError(
      `reference ${showRef(ref.raw)}: the secret is binary and not valid UTF-8; ` +
        'add ?encoding=base64 to the reference to receive it base64-encoded',
      'secret.binary',
    );
  }
}

function parseJsonContainer(text: string, ref: Pick<SecretRef, 'raw'>, field: FieldSelector): object {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (parsed === null || typeof parsed !== 'object') {
    throw new NotFoundError(
      `reference ${showRef(ref.raw)}: asks for ${showField(field)} but the secret is a plain string, ` +
        'not a JSON object; remove the #field to use the whole value',
      'secret.notJson',
    );
  }
  return parsed;
}

function missingField(ref: Pick<SecretRef, 'raw'>, where: string, container: unknown): NotFoundError {
  const available =
    container !== null && typeof container === 'object'
      ? `the secret has ${describeContainer(container)}`
      : 'the value there is not an object';
  return new NotFoundError(
    `reference ${showRef(ref.raw)}: no field ${where}; ${available}`,
    'secret.missingField',
  );
}

/** Walks a field selector through a parsed document. */
function selectField(container: object, field: FieldSelector, ref: Pick<SecretRef, 'raw'>): unknown {
  if (field.kind === 'key') {
    if (Array.isArray(container) || !Object.hasOwn(container, field.name)) {
      throw missingField(ref, JSON.stringify(field.name), container);
    }
    return (container as Record<string, unknown>)[field.name];
  }
  let node: unknown = container;
  let walked = '';
  for (const token of field.tokens) {
    const here = `${walked}/${token.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    if (Array.isArray(node)) {
      const index = /^(0|[1-9][0-9]*)$/.test(token) ? Number(token) : -1;
      if (index < 0 || index >= node.length)
        throw missingField(ref, `#${here} (after #${walked || '/'})`, node);
      node = node[index];
    } else if (node !== null && typeof node === 'object' && Object.hasOwn(node, token)) {
      node = (node as Record<string, unknown>)[token];
    } else {
      throw missingField(ref, `#${here}${walked ? ` (inside #${walked})` : ''}`, node);
    }
    walked = here;
  }
  return node;
}

function leafToString(leaf: unknown, ref: Pick<SecretRef, 'raw'>, field: FieldSelector): string {
  if (typeof leaf === 'string') return leaf;
  if (typeof leaf === 'number' || typeof leaf === 'boolean' || typeof leaf === 'bigint') return String(leaf);
  if (leaf === null || leaf === undefined) {
    throw new NotFoundError(
      `reference ${showRef(ref.raw)}: field ${showField(field)} is null; set a value in the secret`,
      'secret.nullField',
    );
  }
  return JSON.stringify(leaf);
}

/**
 * Picks the value a reference asks for out of a fetched document (design.md section 3):
 *
 * - no field: a string is used as is; an object is an error naming its field names;
 * - `#field` / `#/pointer` on an object, or on a string holding JSON object text;
 * - numbers and booleans are stringified, objects and arrays JSON-stringified, null is an error;
 * - bytes are used as UTF-8 when valid, else an error suggesting `?encoding=base64`;
 * - with `ref.encoding === 'base64'` the secret's bytes (UTF-8 for strings) are base64-encoded.
 *
 * Error messages name the reference and field names, never a value.
 *
 * @throws NotFoundError with code `secret.fieldRequired`, `secret.missingField`,
 *   `secret.notJson`, `secret.nullField` or `secret.binary`.
 */
export function pickField(
  value: Record<string, unknown> | string | Uint8Array,
  field: FieldSelector | undefined,
  ref: Pick<SecretRef, 'raw'> & { encoding?: 'base64' },
): string {
  if (ref.encoding === 'base64' && field === undefined) {
    if (value instanceof Uint8Array)
      return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
    if (typeof value === 'string') return Buffer.from(value, 'utf8').toString('base64');
  }
  const text = value instanceof Uint8Array ? secretBytesToText(value, ref) : value;
  if (typeof text === 'string') {
    if (field === undefined) return text;
    return leafToString(selectField(parseJsonContainer(text, ref, field), field, ref), ref, field);
  }
  if (text === null || typeof text !== 'object') {
    throw new NotFoundError(
      `reference ${showRef(ref.raw)}: the secret has an unexpected shape`,
      'secret.badShape',
    );
  }
  if (field === undefined) {
    throw new NotFoundError(
      `reference ${showRef(ref.raw)}: the secret has ${describeContainer(text)}; ` +
        'add #<field> to the reference to pick one',
      'secret.fieldRequired',
    );
  }
  return leafToString(selectField(text, field, ref), ref, field);
}

// ---------------------------------------------------------------------------------------------
// Collecting references

/** Where a reference came from. */
export type RefSource = 'env' | 'flag' | 'config';

/** Input of {@link collectRefs}. */
export interface CollectInput {
  /** The inherited environment (scanned for references unless `scanEnv` is false). */
  env: Record<string, string | undefined>;
  /** False with `--no-env-refs`: inherited values are never treated as references. */
  scanEnv: boolean;
  /** `--env NAME=REF` (source `flag`) and the config `env:` map (source `config`). */
  explicit: Array<{ name: string; ref: string; source: 'flag' | 'config' }>;
  /** `--import REF` and the config `import:` list. */
  imports: Array<{ ref: string; prefix?: string; source: 'flag' | 'config' }>;
}

/** One variable to fill from one reference. */
export interface CollectedRef {
  variable: string;
  ref: SecretRef;
  source: RefSource;
}

/** One import: every field of the document becomes `prefix + FIELD`. */
export interface CollectedImport {
  ref: SecretRef;
  prefix: string;
  source: 'flag' | 'config';
  /** How the import is named in messages, e.g. `--import` or `import[1]`. */
  label: string;
}

/** Output of {@link collectRefs}. */
export interface CollectedRefs {
  /** One entry per variable, explicit entries first. */
  refs: CollectedRef[];
  imports: CollectedImport[];
  /** Inherited variables whose value was a reference: their raw value must never reach the child. */
  refVariables: Set<string>;
}

function sourceError(source: 'flag' | 'config', message: string, code: string): SecrunError {
  return source === 'flag' ? new UsageError(message, code) : new ConfigError(message, code);
}

/**
 * Finds every reference: inherited environment values (when `scanEnv`), explicit entries (a flag
 * beats the config for the same name; the last flag wins among flags) and imports. Explicit
 * entries beat env-scanned ones for the same variable. An explicit entry must be a reference
 * (a typo like `valut:` must not become a literal value in the child).
 *
 * @throws ResolveError listing every bad entry (variable, reference, cause) — not just the first.
 */
export function collectRefs(input: CollectInput): CollectedRefs {
  const failures: { variable: string; ref: string; error: SecrunError }[] = [];
  const chosen = new Map<string, CollectedRef>();
  const refVariables = new Set<string>();

  const explicit = new Map<string, { ref: string; source: 'flag' | 'config' }>();
  for (const entry of input.explicit) {
    const current = explicit.get(entry.name);
    if (current && current.source === 'flag' && entry.source === 'config') continue;
    explicit.set(entry.name, { ref: entry.ref, source: entry.source });
  }
  for (const [name, entry] of explicit) {
    if (!isValidEnvName(name)) {
      const where = entry.source === 'flag' ? '--env' : 'env:';
      failures.push({
        variable: name,
        ref: entry.ref,
        error: sourceError(
          entry.source,
          `${where} ${JSON.stringify(name)} is not a valid variable name (letters, digits, _; not starting with a digit)`,
          entry.source === 'flag' ? 'usage.badVariable' : 'config.badVariable',
        ),
      });
      continue;
    }
    if (!isRef(entry.ref)) {
      failures.push({
        variable: name,
        ref: entry.ref,
        error: new RefError(
          'not a reference; it must start with vault:, awssm: or arn:aws:secretsmanager:',
          'ref.notAReference',
        ),
      });
      continue;
    }
    try {
      chosen.set(name, { variable: name, ref: parseRef(entry.ref), source: entry.source });
    } catch (err) {
      failures.push({ variable: name, ref: entry.ref, error: toSecrunError(err) });
    }
  }

  if (input.scanEnv) {
    for (const [name, value] of Object.entries(input.env)) {
      if (value === undefined || !isRef(value)) continue;
      refVariables.add(name);
      if (explicit.has(name)) continue;
      try {
        chosen.set(name, { variable: name, ref: parseRef(value), source: 'env' });
      } catch (err) {
        failures.push({ variable: name, ref: value, error: toSecrunError(err) });
      }
    }
  }

  const imports: CollectedImport[] = [];
  let configIndex = 0;
  for (const entry of input.imports) {
    const label = entry.source === 'flag' ? '--import' : `import[${configIndex++}]`;
    const prefix = entry.prefix ?? '';
    if (prefix !== '' && !isValidEnvName(prefix)) {
      failures.push({
        variable: label,
        ref: entry.ref,
        error: sourceError(
          entry.source,
          `import prefix ${JSON.stringify(prefix)} must be letters, digits and _, not starting with a digit`,
          entry.source === 'flag' ? 'usage.badPrefix' : 'config.badPrefix',
        ),
      });
      continue;
    }
    try {
      imports.push({ ref: parseRef(entry.ref), prefix, source: entry.source, label });
    } catch (err) {
      failures.push({ variable: label, ref: entry.ref, error: toSecrunError(err) });
    }
  }

  if (failures.length > 0) throw new ResolveError(failures);
  return { refs: [...chosen.values()], imports, refVariables };
}

// ---------------------------------------------------------------------------------------------
// Imports

/**
 * Variable names for imported fields: `prefix + FIELD`, upper-cased, characters outside
 * `[A-Z0-9_]` replaced by `_`. A name that would start with a digit (empty prefix) gets a
 * leading `_`. Two fields mapping to one name is an error naming both fields.
 *
 * @throws RefError (`ref.importCollision`, `ref.importName`).
 */
export function importNames(fields: string[], prefix: string, refText = '(import)'): Map<string, string> {
  const out = new Map<string, string>();
  const owner = new Map<string, string>();
  for (const field of fields) {
    let name = prefix + field.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
    if (name === '') {
      throw new RefError(
        `import ${showRef(refText)}: a field with an empty name cannot become a variable; give the import a prefix`,
        'ref.importName',
      );
    }
    if (/^[0-9]/.test(name)) name = `_${name}`;
    const other = owner.get(name);
    if (other !== undefined) {
      throw new RefError(
        `import ${showRef(refText)}: fields ${JSON.stringify(other)} and ${JSON.stringify(field)} both map to ${name}; ` +
          'rename one of the fields or import it explicitly with --env',
        'ref.importCollision',
      );
    }
    owner.set(name, field);
    out.set(field, name);
  }
  return out;
}

/**
 * Expands an imported document into variables: every top-level field (of the object selected
 * by the import's `#field`, if any) becomes `prefix + FIELD` with the value rules of
 * {@link pickField}.
 *
 * @throws NotFoundError / RefError; messages never contain values.
 */
export function importValues(
  value: Record<string, unknown> | string | Uint8Array,
  imp: Pick<CollectedImport, 'ref' | 'prefix'>,
): Map<string, string> {
  const ref = imp.ref;
  let container: unknown;
  if (value instanceof Uint8Array || typeof value === 'string') {
    const text = value instanceof Uint8Array ? secretBytesToText(value, ref) : value;
    container = parseJsonContainer(text, ref, ref.field ?? { kind: 'key', name: '(all fields)' });
  } else {
    container = value;
  }
  if (ref.field && container !== null && typeof container === 'object') {
    container = selectField(container, ref.field, ref);
  }
  if (container === null || typeof container !== 'object' || Array.isArray(container)) {
    throw new NotFoundError(
      `import ${showRef(ref.raw)}: an import needs a JSON object with fields; use --env for a single value`,
      'secret.notObject',
    );
  }
  const record = container as Record<string, unknown>;
  const names = importNames(Object.keys(record), imp.prefix, ref.raw);
  const out = new Map<string, string>();
  for (const [field, name] of names) {
    out.set(name, leafToString(record[field], ref, { kind: 'key', name: field }));
  }
  return out;
}

/** Result of {@link mergeImports}. */
export interface MergedImports<T> {
  vars: Map<string, T>;
  /** Imported names dropped because an explicit entry sets the same variable. */
  shadowed: string[];
}

/**
 * Merges the variables of several imports. Explicit entries win (their names are dropped from
 * the imports and reported as `shadowed`); two imports setting the same variable is an error.
 *
 * @throws RefError `ref.importCollision` naming both imports.
 */
export function mergeImports<T>(
  explicitVars: ReadonlySet<string>,
  imports: Array<{ label: string; vars: ReadonlyMap<string, T> }>,
): MergedImports<T> {
  const vars = new Map<string, T>();
  const from = new Map<string, string>();
  const shadowed: string[] = [];
  for (const imp of imports) {
    for (const [name, value] of imp.vars) {
      if (explicitVars.has(name)) {
        if (!shadowed.includes(name)) shadowed.push(name);
        continue;
      }
      const other = from.get(name);
      if (other !== undefined) {
        throw new RefError(
          `variable ${name} is set by two imports (${other} and ${imp.label}); give them different prefixes`,
          'ref.importCollision',
        );
      }
      from.set(name, imp.label);
      vars.set(name, value);
    }
  }
  return { vars, shadowed };
}
