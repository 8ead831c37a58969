import type { ResolveFailure, SecrunError } from './errors.ts';
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
function shownValue(value: string): string {
  return isRef(value) ? value : NOT_A_REFERENCE;
}

const SCHEME_WORDS = ['vault', 'awssm'] as const;

/** Optimal-string-alignment distance (a swap of two neighbours counts as one edit). */
function editDistance(a: string, b: string): number {
  const d: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row: number[] = [];
    for (let j = 0; j <= b.length; j++) {
      if (i === 0 || j === 0) {
        row.push(i + j);
        continue;
      }
      const prev = d[i - 1] as number[];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(
        (prev[j] as number) + 1,
        (row[j - 1] as number) + 1,
        (prev[j - 1] as number) + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, ((d[i - 2] as number[])[j - 2] as number) + 1);
      }
      row.push(best);
    }
    d.push(row);
  }
  return (d[a.length] as number[])[b.length] as number;
}

/**
 * The scheme a value seems to have meant when it looks like a mistyped reference
 * (`valut:`, `vualt:`, `awsm:`, `aws-sm:`, or `VAULT:` in the wrong case), else undefined.
 * Only the text before the first `:` is looked at: 4-8 lowercase letters or `-` within two
 * edits (a swap counts as one) of `vault` / `awssm`. The result is `vault:` or `awssm:` and is
 * safe to print; the value itself must never be printed.
 */
export function nearMissScheme(value: string): string | undefined {
  if (typeof value !== 'string' || isRef(value)) return undefined;
  const colon = value.indexOf(':');
  if (colon < 4 || colon > 8) return undefined;
  const word = value.slice(0, colon);
  const lower = word.toLowerCase();
  for (const scheme of SCHEME_WORDS) if (lower === scheme) return `${scheme}:`;
  if (!/^[a-z][a-z-]*$/.test(word)) return undefined;
  let best: { scheme: string; distance: number } | undefined;
  for (const scheme of SCHEME_WORDS) {
    const distance = editDistance(word, scheme);
    if (distance <= 2 && (best === undefined || distance < best.distance)) best = { scheme, distance };
  }
  return best ? `${best.scheme}:` : undefined;
}

/**
 * Variables an import may never set (compared upper-cased): they change how the child or the
 * programs it starts behave (loader, interpreter, TLS trust, shell start-up) or are the agent's
 * own settings. An explicit `--env NAME=REF` may still set them: the user named the variable.
 */
export const PROTECTED_IMPORT_NAMES: readonly string[] = [
  'PATH',
  'HOME',
  'USER',
  'SHELL',
  'PWD',
  'IFS',
  'ENV',
  'BASH_ENV',
  'SHELLOPTS',
  'BASHOPTS',
  'PS4',
  'PROMPT_COMMAND',
  'TMPDIR',
  'GCONV_PATH',
  'NODE_OPTIONS',
  'NODE_PATH',
  'NODE_EXTRA_CA_CERTS',
  'PYTHONPATH',
  'PYTHONHOME',
  'PYTHONSTARTUP',
  'PERL5LIB',
  'PERL5OPT',
  'RUBYOPT',
  'RUBYLIB',
  'JAVA_TOOL_OPTIONS',
  '_JAVA_OPTIONS',
  'JDK_JAVA_OPTIONS',
  'CLASSPATH',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'REQUESTS_CA_BUNDLE',
  'CURL_CA_BUNDLE',
  'GIT_SSH',
  'GIT_SSH_COMMAND',
  'GIT_EXEC_PATH',
];

/** Prefixes an imported variable may never start with (compared upper-cased). */
export const PROTECTED_IMPORT_PREFIXES: readonly string[] = ['LD_', 'DYLD_', 'SECRUN_', 'VAULT_', 'AWS_'];

const PROTECTED_NAME_SET = new Set(PROTECTED_IMPORT_NAMES);

/** True when an import may not set `name` ({@link PROTECTED_IMPORT_NAMES}, {@link PROTECTED_IMPORT_PREFIXES}). */
export function isProtectedImportName(name: string): boolean {
  const upper = name.toUpperCase();
  return PROTECTED_NAME_SET.has(upper) || PROTECTED_IMPORT_PREFIXES.some((p) => upper.startsWith(p));
}

/** True when every name built from `prefix` would be protected (e.g. `LD_`, `aws_`). */
function isProtectedPrefix(prefix: string): boolean {
  const upper = prefix.toUpperCase();
  return PROTECTED_IMPORT_PREFIXES.some((p) => upper.startsWith(p));
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
 * Path, option values and field are percent-decoded. Messages quote the reference, except for
 * `ref.unknownScheme`: text that is not a reference may be a secret and is never echoed.
 *
 * @throws RefError (codes `ref.unknownScheme`, `ref.emptyPath`, `ref.badPath`, `ref.badArn`,
 *   `ref.badName`, `ref.unknownOption`, `ref.duplicateOption`, `ref.badOption`,
 *   `ref.conflictingOptions`, `ref.badVersion`, `ref.badField`, `ref.badEncoding`,
 *   `ref.controlChar`) and nothing else.
 */
export function parseRef(value: string): SecretRef {
  const raw = String(value);
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
    // Not a reference, so possibly a secret typed in the wrong place: never echo it.
    throw new RefError(
      'not a reference (the value is not shown); references start with vault:, awssm: or arn:aws:secretsmanager:',
      'ref.unknownScheme',
    );
  }
  if (LONE_SURROGATE.test(raw)) {
    throw refError(
      raw,
      'ref.badEncoding',
      'the reference is not well-formed Unicode (a lone surrogate); retype it',
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
//
// Messages here do not repeat the reference: every caller reports a failure next to its
// variable and reference (ResolveError lines), so they read "no field "x"; ...".

function listNames(names: string[]): string {
  if (names.length === 0) return '(none)';
  const shown = names.slice().sort().slice(0, 50).map(showName);
  return shown.join(', ') + (names.length > 50 ? `, ... (${names.length} in all)` : '');
}

/** A field name for messages: quoted, shortened. Field names are not secret; values are. */
function showName(name: string): string {
  return JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}...` : name);
}

function describeContainer(value: object): string {
  return Array.isArray(value)
    ? `an array of ${value.length} items`
    : `fields ${listNames(Object.keys(value))}`;
}

function secretBytesToText(value: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(value);
  } catch {
    return undefined;
  }
}

/**
 * Parses secret text as JSON. On failure, `what` says what the secret is instead (never its
 * content, never the parser's message: it quotes the text).
 */
function parseJsonText(text: string): { ok: true; value: unknown } | { ok: false; what: string } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    const start = text.trimStart()[0];
    return {
      ok: false,
      what:
        start === '{' || start === '['
          ? 'text that starts like JSON but does not parse'
          : 'a plain string, not JSON',
    };
  }
}

/** What a parsed JSON value that is not an object or array is, for messages. */
function jsonKind(value: unknown): string {
  if (value === null) return 'JSON null';
  if (Array.isArray(value)) return 'a JSON array';
  return `a JSON ${typeof value}`;
}

function parseJsonContainer(text: string, field: FieldSelector): object {
  const parsed = parseJsonText(text);
  if (!parsed.ok) {
    const fix =
      parsed.what === 'a plain string, not JSON'
        ? 'remove the #field to use the whole value'
        : 'fix the JSON in the secret, or remove the #field to use the whole value';
    throw new NotFoundError(
      `asks for ${showField(field)} but the secret is not a JSON object: it is ${parsed.what}; ${fix}`,
      'secret.notJson',
    );
  }
  if (parsed.value === null || typeof parsed.value !== 'object') {
    throw new NotFoundError(
      `asks for ${showField(field)} but the secret is ${jsonKind(parsed.value)}, not a JSON object; ` +
        'remove the #field to use the whole value',
      'secret.notJson',
    );
  }
  return parsed.value;
}

function missingField(where: string, container: unknown): NotFoundError {
  const available =
    container !== null && typeof container === 'object'
      ? `the secret has ${describeContainer(container)}`
      : 'the value there is not an object';
  return new NotFoundError(`no field ${where}; ${available}`, 'secret.missingField');
}

/** Walks a field selector through a parsed document. */
function selectField(container: object, field: FieldSelector): unknown {
  if (field.kind === 'key') {
    if (Array.isArray(container) || !Object.hasOwn(container, field.name)) {
      throw missingField(JSON.stringify(field.name), container);
    }
    return (container as Record<string, unknown>)[field.name];
  }
  let node: unknown = container;
  let walked = '';
  for (const token of field.tokens) {
    const here = `${walked}/${token.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    if (Array.isArray(node)) {
      const index = /^(0|[1-9][0-9]*)$/.test(token) ? Number(token) : -1;
      if (index < 0 || index >= node.length) throw missingField(`#${here} (after #${walked || '/'})`, node);
      node = node[index];
    } else if (node !== null && typeof node === 'object' && Object.hasOwn(node, token)) {
      node = (node as Record<string, unknown>)[token];
    } else {
      throw missingField(`#${here}${walked ? ` (inside #${walked})` : ''}`, node);
    }
    walked = here;
  }
  return node;
}

function leafToString(leaf: unknown, field: FieldSelector): string {
  if (typeof leaf === 'string') return leaf;
  if (typeof leaf === 'number' || typeof leaf === 'boolean' || typeof leaf === 'bigint') return String(leaf);
  if (leaf === null || leaf === undefined) {
    throw new NotFoundError(
      `field ${showField(field)} is null; set a value in the secret`,
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
 * Error messages name field names, never a value, and do not repeat the reference (the caller
 * prints it next to the message).
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
  const text = value instanceof Uint8Array ? secretBytesToText(value) : value;
  if (text === undefined) {
    throw new NotFoundError(
      'the secret is binary and not valid UTF-8; add ?encoding=base64 to the reference to receive it base64-encoded',
      'secret.binary',
    );
  }
  if (typeof text === 'string') {
    if (field === undefined) return text;
    return leafToString(selectField(parseJsonContainer(text, field), field), field);
  }
  if (text === null || typeof text !== 'object') {
    throw new NotFoundError('the secret has an unexpected shape', 'secret.badShape');
  }
  if (field === undefined) {
    throw new NotFoundError(
      `the secret has ${describeContainer(text)}; add #<field> to the reference to pick one`,
      'secret.fieldRequired',
    );
  }
  return leafToString(selectField(text, field), field);
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
  /**
   * True: bad entries are returned in {@link CollectedRefs.failures} instead of thrown, and every
   * valid reference is still collected, so the caller can resolve those and report both sets in
   * one error. The caller must not start the child while `failures` is non-empty.
   */
  deferErrors?: boolean;
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

/** An inherited variable whose value looks like a reference with a mistyped scheme. */
export interface NearMiss {
  variable: string;
  /** The scheme it looks like, `vault:` or `awssm:`. Never the value. */
  scheme: string;
}

/** Output of {@link collectRefs}. */
export interface CollectedRefs {
  /** One entry per variable, explicit entries first. */
  refs: CollectedRef[];
  imports: CollectedImport[];
  /** Inherited variables whose value was a reference: their raw value must never reach the child. */
  refVariables: Set<string>;
  /** Bad entries; always empty unless `deferErrors` (otherwise they are thrown). */
  failures: ResolveFailure[];
  /**
   * Inherited variables (when scanned, not overridden by an explicit entry) whose value looks
   * like a mistyped reference ({@link nearMissScheme}); they pass through, so warn about them.
   */
  nearMisses: NearMiss[];
}

function sourceError(source: 'flag' | 'config', message: string, code: string): SecrunError {
  return source === 'flag' ? new UsageError(message, code) : new ConfigError(message, code);
}

/** The failure for a `--env` / config / import value that is not a reference; the value is not shown. */
function notAReference(source: 'flag' | 'config', value: string): SecrunError {
  const hint = nearMissScheme(value);
  return sourceError(
    source,
    `the value is not a reference${hint ? ` (is the scheme a typo of ${hint}?)` : ''}; ` +
      'it must start with vault:, awssm: or arn:aws:secretsmanager: (the value is not shown, it may be a secret)',
    'ref.notAReference',
  );
}

/**
 * Finds every reference: inherited environment values (when `scanEnv`; see {@link isEnvRef}),
 * explicit entries (a flag beats the config for the same name; the last flag wins among flags)
 * and imports. Explicit entries beat env-scanned ones for the same variable. An explicit entry
 * must be a reference (a typo like `valut:` must not become a literal value in the child); a
 * value that is not a reference is never echoed: it shows as {@link NOT_A_REFERENCE}. Its
 * failure is a UsageError (64) for a flag, a ConfigError (78) for the config file.
 *
 * @throws ResolveError listing every bad entry (variable, reference, cause) — not just the
 *   first; with `deferErrors` they are returned in `failures` instead.
 */
export function collectRefs(input: CollectInput): CollectedRefs {
  const failures: ResolveFailure[] = [];
  const chosen = new Map<string, CollectedRef>();
  const refVariables = new Set<string>();
  const nearMisses: NearMiss[] = [];

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
        ref: shownValue(entry.ref),
        error: sourceError(
          entry.source,
          `${where} ${JSON.stringify(name)} is not a valid variable name (letters, digits, _; not starting with a digit)`,
          entry.source === 'flag' ? 'usage.badVariable' : 'config.badVariable',
        ),
      });
      continue;
    }
    if (!isRef(entry.ref)) {
      failures.push({ variable: name, ref: NOT_A_REFERENCE, error: notAReference(entry.source, entry.ref) });
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
      if (value === undefined) continue;
      if (!isEnvRef(value)) {
        const scheme = explicit.has(name) ? undefined : nearMissScheme(value);
        if (scheme) nearMisses.push({ variable: name, scheme });
        continue;
      }
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
    const fail = (error: SecrunError) =>
      failures.push({ variable: label, ref: shownValue(entry.ref), error });
    if (prefix !== '' && !isValidEnvName(prefix)) {
      fail(
        sourceError(
          entry.source,
          `import prefix ${JSON.stringify(prefix)} must be letters, digits and _, not starting with a digit`,
          entry.source === 'flag' ? 'usage.badPrefix' : 'config.badPrefix',
        ),
      );
      continue;
    }
    if (isProtectedPrefix(prefix)) {
      fail(
        sourceError(
          entry.source,
          `import prefix ${JSON.stringify(prefix)} would make every imported variable a protected one ` +
            `(${PROTECTED_IMPORT_PREFIXES.join(', ')}...), which an import may not set; choose another prefix`,
          'ref.importProtected',
        ),
      );
      continue;
    }
    if (!isRef(entry.ref)) {
      fail(notAReference(entry.source, entry.ref));
      continue;
    }
    try {
      imports.push({ ref: parseRef(entry.ref), prefix, source: entry.source, label });
    } catch (err) {
      fail(toSecrunError(err));
    }
  }

  if (failures.length > 0 && input.deferErrors !== true) throw new ResolveError(failures);
  return { refs: [...chosen.values()], imports, refVariables, failures, nearMisses };
}

// ---------------------------------------------------------------------------------------------
// Imports

function protectedImportError(hits: string[], prefix: string, details: Record<string, string>): RefError {
  const fix =
    prefix === ''
      ? 'give the import a prefix (e.g. --import APP_=<ref>, or prefix: in the config)'
      : 'choose another prefix';
  return new RefError(
    `${hits.join(', ')}: an import may not set PATH, HOME, LD_*, NODE_OPTIONS and other variables that ` +
      `change how programs run; ${fix}, or set the variable on purpose with --env NAME=<ref>`,
    'ref.importProtected',
    details,
  );
}

/**
 * Variable names for imported fields: `prefix + FIELD`, upper-cased, characters outside
 * `[A-Z0-9_]` replaced by `_`. A name that would start with a digit (empty prefix) gets a
 * leading `_`. A name an import may not set ({@link isProtectedImportName}) is an error naming
 * the fields and variables; so is two fields mapping to one name.
 *
 * @throws RefError (`ref.importProtected`, `ref.importCollision`, `ref.importName`).
 */
export function importNames(fields: string[], prefix: string, refText?: string): Map<string, string> {
  const details: Record<string, string> = refText === undefined ? {} : { ref: refText };
  const named: Array<[string, string]> = [];
  for (const field of fields) {
    let name = prefix + field.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
    if (name === '') {
      throw new RefError(
        'a field with an empty name cannot become a variable; give the import a prefix',
        'ref.importName',
        details,
      );
    }
    if (/^[0-9]/.test(name)) name = `_${name}`;
    named.push([field, name]);
  }
  const hits = named
    .filter(([, name]) => isProtectedImportName(name))
    .map(([field, name]) => `field ${showName(field)} would set ${name}`);
  if (hits.length > 0) throw protectedImportError(hits, prefix, details);
  const out = new Map<string, string>();
  const owner = new Map<string, string>();
  for (const [field, name] of named) {
    const other = owner.get(name);
    if (other !== undefined) {
      throw new RefError(
        `fields ${showName(other)} and ${showName(field)} both map to ${name}; ` +
          'rename one of the fields or import it explicitly with --env',
        'ref.importCollision',
        details,
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
 * {@link pickField}. Names are checked by {@link importNames} (protected names are refused).
 *
 * @throws NotFoundError / RefError; messages never contain values.
 */
export function importValues(
  value: Record<string, unknown> | string | Uint8Array,
  imp: Pick<CollectedImport, 'ref' | 'prefix'>,
): Map<string, string> {
  const ref = imp.ref;
  const notObject = (what: string, code: string) =>
    new NotFoundError(
      `an import needs a secret that is a JSON object with fields, but this one is ${what}; ` +
        'use --env NAME=<ref> for a single value',
      code,
    );
  let container: unknown = value;
  if (value instanceof Uint8Array || typeof value === 'string') {
    const text = value instanceof Uint8Array ? secretBytesToText(value) : value;
    if (text === undefined) throw notObject('binary (not UTF-8 text)', 'secret.binary');
    const parsed = parseJsonText(text);
    if (!parsed.ok) throw notObject(parsed.what, 'secret.notJson');
    container = parsed.value;
  }
  let where = 'the secret';
  if (ref.field && container !== null && typeof container === 'object') {
    container = selectField(container, ref.field);
    where = `field ${showField(ref.field)}`;
  }
  if (container === null || typeof container !== 'object' || Array.isArray(container)) {
    throw new NotFoundError(
      `an import needs a JSON object with fields, but ${where} is ${jsonKind(container)}; ` +
        'use --env NAME=<ref> for a single value',
      'secret.notObject',
    );
  }
  const record = container as Record<string, unknown>;
  const names = importNames(Object.keys(record), imp.prefix, ref.raw);
  const out = new Map<string, string>();
  for (const [field, name] of names) {
    out.set(name, leafToString(record[field], { kind: 'key', name: field }));
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
 * the imports and reported as `shadowed`); two imports setting the same variable is an error;
 * so is an import setting a protected variable ({@link isProtectedImportName}), even when an
 * explicit entry would shadow it.
 *
 * @throws RefError `ref.importCollision` naming both imports, `ref.importProtected`.
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
      if (isProtectedImportName(name)) {
        throw new RefError(
          `${imp.label} would set ${name}, which an import may not set (it changes how programs run); ` +
            'give the import a prefix, or set the variable on purpose with --env NAME=<ref>',
          'ref.importProtected',
        );
      }
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
