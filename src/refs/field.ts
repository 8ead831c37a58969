// Messages here do not repeat the reference: every caller reports a failure next to its
// variable and reference (ResolveError lines), so they read "no field "x"; ...".
import { NotFoundError } from '../base/errors.ts';
import type { FieldSelector, SecretRef } from './secret-ref.ts';
import { jsonKind, parseJsonText, secretBytesToText } from './secret-text.ts';
import { showField, showName } from './show.ts';

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

/**
 * Walks a field selector through a parsed document.
 *
 * @throws NotFoundError `secret.missingField`, naming the fields that are there.
 */
export function selectField(container: object, field: FieldSelector): unknown {
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

/**
 * A picked value as the child sees it: strings as they are, scalars stringified, objects and
 * arrays as JSON.
 *
 * @throws NotFoundError `secret.nullField` for null (or a missing value).
 */
export function leafToString(leaf: unknown, field: FieldSelector): string {
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

function listNames(names: string[]): string {
  if (names.length === 0) return '(none)';
  const shown = names.slice().sort().slice(0, 50).map(showName);
  return shown.join(', ') + (names.length > 50 ? `, ... (${names.length} in all)` : '');
}

function describeContainer(value: object): string {
  return Array.isArray(value)
    ? `an array of ${value.length} items`
    : `fields ${listNames(Object.keys(value))}`;
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
