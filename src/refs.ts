/**
 * Secret references: the grammar and parser (`refs/parse.ts`), picking a field out of a fetched
 * document (`refs/field.ts`), collecting references from the environment, flags and config
 * (`refs/collect.ts`), imports (`refs/imports.ts`) and mistyped schemes (`refs/near-miss.ts`).
 * This module only re-exports them.
 */
export {
  type CollectedImport,
  type CollectedRef,
  type CollectedRefs,
  type CollectInput,
  collectRefs,
  type NearMiss,
  type RefSource,
} from './refs/collect.ts';
export { pickField } from './refs/field.ts';
export { importNames, importValues, type MergedImports, mergeImports } from './refs/imports.ts';
export {
  isProtectedImportName,
  isValidEnvName,
  PROTECTED_IMPORT_NAMES,
  PROTECTED_IMPORT_PREFIXES,
} from './refs/names.ts';
export { nearMissScheme } from './refs/near-miss.ts';
export { documentKeyOf, parseRef } from './refs/parse.ts';
export { isEnvRef, isRef, NOT_A_REFERENCE } from './refs/scheme.ts';
export type { FieldSelector, SecretRef } from './refs/secret-ref.ts';
export { showField, showRef } from './refs/show.ts';
