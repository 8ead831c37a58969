import { NotFoundError, RefError } from '../base/errors.ts';
import type { CollectedImport } from './collect.ts';
import { leafToString, selectField } from './field.ts';
import { isProtectedImportName } from './names.ts';
import { jsonKind, parseJsonText, secretBytesToText } from './secret-text.ts';
import { showField, showName } from './show.ts';

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
