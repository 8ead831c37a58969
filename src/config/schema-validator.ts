import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Ajv as AjvClass, ValidateFunction } from 'ajv';

const require = createRequire(import.meta.url);

// Two levels up from src/config/ to the package root.
const SCHEMA_URL = new URL('../../schema/secrun.schema.json', import.meta.url);

/** The options the validator is compiled with, at run time here and at build time for the bundle. */
export const AJV_OPTIONS = { allErrors: true, strict: true } as const;

/**
 * The config file validator. Running from source it is compiled from
 * schema/secrun.schema.json with ajv; the bundle replaces this module with a validator
 * precompiled at build time (ajv standalone), so ajv is never loaded at run time there.
 */
export function loadValidator(): ValidateFunction {
  const schema = JSON.parse(readFileSync(SCHEMA_URL, 'utf8')) as object;
  const { Ajv } = require('ajv') as { Ajv: typeof AjvClass };
  return new Ajv(AJV_OPTIONS).compile(schema);
}
