import type { ErrorObject, ValidateFunction } from 'ajv';
import type { KeyPath } from './key-lines.ts';
import { loadValidator } from './schema-validator.ts';

let validator: ValidateFunction | undefined;

/** One schema problem: the key path and what is wrong with it. */
export interface SchemaProblem {
  path: KeyPath;
  message: string;
}

/**
 * Validates parsed config data against schema/secrun.schema.json.
 *
 * @returns one problem per key path (the most specific one); empty when the data is valid.
 */
export function schemaProblems(data: object): SchemaProblem[] {
  const validate = getValidator();
  return validate(data) ? [] : describeErrors(validate.errors ?? []);
}

function getValidator(): ValidateFunction {
  // Loaded on demand: only a run with a config file pays for the validator (boot time).
  validator ??= loadValidator();
  return validator;
}

function pointerToPath(pointer: string): KeyPath {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((t) => (/^(0|[1-9][0-9]*)$/.test(t) ? Number(t) : t));
}

const FRIENDLY: Record<string, string> = {
  duration: 'must be a duration like 30s, 500ms, 5m or 1h30m (a bare number is seconds)',
  reference: 'must be a reference starting with vault:, awssm: or arn:aws:secretsmanager:',
  referenceOrTemplate:
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the text shows secrun template syntax
    'must be a reference starting with vault:, awssm: or arn:aws:secretsmanager:, or a template with ${<reference>} placeholders',
  onChange: 'must be restart, exit, ignore or signal:<SIGNAL> (e.g. signal:SIGHUP)',
  envPattern: 'must be a variable name or a prefix ending in * (e.g. VAULT_*)',
};

/** Turns ajv errors into one message per key path (the most specific one). */
function describeErrors(errors: ErrorObject[]): SchemaProblem[] {
  const byPath = new Map<string, SchemaProblem & { rank: number }>();
  const put = (path: KeyPath, message: string, rank: number): void => {
    const key = JSON.stringify(path);
    const current = byPath.get(key);
    if (!current || rank < current.rank) byPath.set(key, { path, message, rank });
  };
  for (const e of errors) {
    // ajv reports the failing pattern of a property name a second time, at the parent.
    if (e.propertyName !== undefined && e.keyword !== 'propertyNames') continue;
    const path = pointerToPath(e.instancePath);
    const definition = /#\/definitions\/(\w+)\//.exec(e.schemaPath)?.[1];
    if (e.keyword === 'additionalProperties') {
      const key = String((e.params as { additionalProperty: string }).additionalProperty);
      put([...path, key], 'unknown key', 0);
    } else if (e.keyword === 'propertyNames') {
      const name = String((e.params as { propertyName: string }).propertyName);
      put([...path, name], 'not a valid variable name (letters, digits, _; not starting with a digit)', 0);
    } else if (e.keyword === 'pattern' && e.instancePath.endsWith('/prefix')) {
      put(path, 'must be letters, digits and _, not starting with a digit', 1);
    } else if (e.keyword === 'pattern' && /_env$/.test(e.instancePath)) {
      put(path, 'must be a variable name (letters, digits, _)', 1);
    } else if (definition && FRIENDLY[definition] && e.keyword !== 'oneOf') {
      put(path, FRIENDLY[definition], 1);
    } else if (e.keyword === 'enum') {
      const allowed = (e.params as { allowedValues: unknown[] }).allowedValues.map(String).join(', ');
      put(path, `must be one of ${allowed}`, 1);
    } else if (e.keyword === 'type') {
      put(path, `must be ${article((e.params as { type: string }).type)}`, 2);
    } else if (e.keyword === 'required') {
      put(path, `missing key ${(e.params as { missingProperty: string }).missingProperty}`, 1);
    } else if (e.keyword === 'oneOf') {
      const hint =
        path[0] === 'env'
          ? 'must be a reference, a template or { ref, on_change, write, params }'
          : 'must be a reference or { ref, prefix }';
      put(path, definition ? (FRIENDLY[definition] ?? 'has the wrong type') : hint, 3);
    } else {
      put(path, e.message ?? 'is invalid', 2);
    }
  }
  // A deeper problem explains a failed oneOf branch at its parent better than the branch does.
  const all = [...byPath.values()];
  const isPrefix = (a: KeyPath, b: KeyPath): boolean => a.length < b.length && a.every((k, i) => k === b[i]);
  return all.filter((p) => p.rank === 0 || !all.some((q) => isPrefix(p.path, q.path)));
}

function article(type: string): string {
  const t = type.replace(/,/g, ' or ');
  return /^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`;
}
