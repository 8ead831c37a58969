/**
 * Secret references: the grammar and parser (`refs/parse.ts`), picking a field out of a fetched
 * document (`refs/field.ts`), collecting references from the environment, flags and config
 * (`refs/collect.ts`), imports (`refs/imports.ts`), mistyped schemes (`refs/near-miss.ts`) and
 * templates built from several references (`refs/template.ts`).
 * This module only re-exports them.
 */
export {
  type CollectedImport,
  type CollectedRef,
  type CollectedRefs,
  type CollectedTemplate,
  type CollectInput,
  collectRefs,
  type NearMiss,
  type RefSource,
} from './collect.ts';
export { type ArgvReference, argvReferences, embeddedScheme } from './doubtful.ts';
export { pickField } from './field.ts';
export { importNames, importValues, type MergedImports, mergeImports } from './imports.ts';
export {
  isProtectedImportName,
  isValidEnvName,
  PROTECTED_IMPORT_NAMES,
  PROTECTED_IMPORT_PREFIXES,
} from './names.ts';
export { nearMissScheme } from './near-miss.ts';
export { documentKeyOf, parseRef } from './parse.ts';
export { isEnvRef, isRef, NOT_A_REFERENCE } from './scheme.ts';
export type { FieldSelector, SecretRef } from './secret-ref.ts';
export { showField, showRef } from './show.ts';
export {
  isTemplate,
  isTemplatePart,
  type NamedTemplate,
  parseTemplate,
  renderTemplate,
  renderValues,
  secretPairs,
  type Template,
  templateEntries,
  templatePartName,
  variableOf,
} from './template.ts';
export { applyFilter, TEMPLATE_FILTERS, type TemplateFilter } from './template-filters.ts';
export { writeRef } from './write-ref.ts';
