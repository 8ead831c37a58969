import type { ResolveFailure, SecrunError } from '../base/errors.ts';
import { ConfigError, ResolveError, toSecrunError, UsageError } from '../base/errors.ts';
import { embeddedScheme } from './doubtful.ts';
import { isProtectedPrefix, isValidEnvName, PROTECTED_IMPORT_PREFIXES } from './names.ts';
import { nearMissScheme } from './near-miss.ts';
import { parseRef } from './parse.ts';
import { isEnvRef, isRef, NOT_A_REFERENCE, shownValue } from './scheme.ts';
import type { SecretRef } from './secret-ref.ts';
import { isTemplate, mistypedPlaceholder, parseTemplate, TEMPLATE_SHOWN, type Template } from './template.ts';
import { writeRef } from './write-ref.ts';

/** Where a reference came from. */
export type RefSource = 'env' | 'flag' | 'config';

/** Input of {@link collectRefs}. */
export interface CollectInput {
  /** The inherited environment (scanned for references unless `scanEnv` is false). */
  env: Record<string, string | undefined>;
  /** False with `--no-env-refs`: inherited values are never treated as references. */
  scanEnv: boolean;
  /**
   * `--env NAME=REF` (source `flag`) and the config `env:` map (source `config`); `write` holds
   * the parameters of a config entry marked `write: true` (see {@link writeRef}).
   */
  explicit: Array<{ name: string; ref: string; source: 'flag' | 'config'; write?: Record<string, string> }>;
  /** `--import REF` and the config `import:` list. */
  imports: Array<{ ref: string; prefix?: string; source: 'flag' | 'config' }>;
  /**
   * `--file NAME=REF` and the config `files:` map: resolved like explicit entries (a reference or
   * a template), but the child reads the value from a pipe at the path its variable names.
   */
  files?: Array<{ name: string; ref: string; source: 'flag' | 'config' }>;
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

/** One variable built from a template (`postgresql://${vault:...#username}:...`). */
export interface CollectedTemplate {
  variable: string;
  template: Template;
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
  /** Variables built from templates (each name is in `refs` or `templates`, never both). */
  templates: CollectedTemplate[];
  /** Variables (in `refs` or `templates`) whose value the child reads as a file, in fd order. */
  files: string[];
  imports: CollectedImport[];
  /** Inherited variables whose value was a reference or a template: their raw value must never reach the child. */
  refVariables: Set<string>;
  /** Bad entries; always empty unless `deferErrors` (otherwise they are thrown). */
  failures: ResolveFailure[];
  /**
   * Inherited variables (when scanned, not overridden by an explicit entry) whose value looks
   * like a mistyped reference ({@link nearMissScheme}); they pass through, so warn about them.
   */
  nearMisses: NearMiss[];
  /**
   * Inherited variables holding a reference inside other text, not in template form
   * (`jdbc:...password=vault:...`); they pass through unchanged.
   */
  embedded: NearMiss[];
}

type ExplicitEntries = Map<
  string,
  { ref: string; source: 'flag' | 'config'; write?: Record<string, string> }
>;

/** What collecting variables gathers, filled by each step in turn. */
interface Found {
  chosen: Map<string, CollectedRef>;
  templates: Map<string, CollectedTemplate>;
  refVariables: Set<string>;
  nearMisses: NearMiss[];
  embedded: NearMiss[];
  failures: ResolveFailure[];
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
  const found: Found = {
    chosen: new Map(),
    templates: new Map(),
    refVariables: new Set(),
    nearMisses: [],
    embedded: [],
    failures: [],
  };
  const files = explicitEntries(input.files ?? []);
  const explicit = explicitEntries(input.explicit);
  for (const [name, entry] of files) {
    if (!explicit.has(name)) continue;
    found.failures.push({
      variable: name,
      ref: NOT_A_REFERENCE,
      error: sourceError(
        entry.source,
        `${name} is given both as a variable (--env / env:) and as a file (--file / files:); keep one`,
        'ref.fileConflict',
      ),
    });
    explicit.delete(name);
  }
  for (const [name, entry] of files) explicit.set(name, entry);
  collectExplicit(explicit, found);
  if (input.scanEnv) scanEnv(input.env, explicit, found);
  const imports = collectImports(input.imports, found.failures);
  const { chosen, templates, refVariables, nearMisses, embedded, failures } = found;
  if (failures.length > 0 && input.deferErrors !== true) throw new ResolveError(failures);
  return {
    refs: [...chosen.values()],
    templates: [...templates.values()],
    files: [...files.keys()].filter((name) => chosen.has(name) || templates.has(name)),
    imports,
    refVariables,
    failures,
    nearMisses,
    embedded,
  };
}

/** One entry per name: a flag beats the config; among flags (or among config entries) the last wins. */
function explicitEntries(entries: CollectInput['explicit']): ExplicitEntries {
  const explicit: ExplicitEntries = new Map();
  for (const entry of entries) {
    const current = explicit.get(entry.name);
    if (current && current.source === 'flag' && entry.source === 'config') continue;
    explicit.set(entry.name, {
      ref: entry.ref,
      source: entry.source,
      ...(entry.write ? { write: entry.write } : {}),
    });
  }
  return explicit;
}

function collectExplicit(explicit: ExplicitEntries, found: Found): void {
  const { chosen, failures } = found;
  for (const [name, entry] of explicit) {
    if (!isValidEnvName(name)) {
      const where = entry.source === 'flag' ? '--env' : 'env:';
      failures.push({
        variable: name,
        ref: isTemplate(entry.ref) ? TEMPLATE_SHOWN : shownValue(entry.ref),
        error: sourceError(
          entry.source,
          `${where} ${JSON.stringify(name)} is not a valid variable name (letters, digits, _; not starting with a digit)`,
          entry.source === 'flag' ? 'usage.badVariable' : 'config.badVariable',
        ),
      });
      continue;
    }
    if (isTemplate(entry.ref) && entry.write) {
      failures.push({
        variable: name,
        ref: TEMPLATE_SHOWN,
        error: new ConfigError('write: true needs one vault: reference, not a template', 'config.badWrite'),
      });
      continue;
    }
    if (isTemplate(entry.ref)) {
      addTemplate(name, entry.ref, entry.source, found);
      continue;
    }
    if (!isRef(entry.ref)) {
      failures.push({ variable: name, ref: NOT_A_REFERENCE, error: notAReference(entry.source, entry.ref) });
      continue;
    }
    try {
      const ref = parseRef(entry.ref);
      chosen.set(name, {
        variable: name,
        ref: entry.write ? writeRef(ref, entry.write) : ref,
        source: entry.source,
      });
    } catch (err) {
      failures.push({ variable: name, ref: entry.ref, error: toSecrunError(err) });
    }
  }
}

function scanEnv(env: CollectInput['env'], explicit: ExplicitEntries, out: Found): void {
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (!isEnvRef(value) && isTemplate(value)) {
      out.refVariables.add(name);
      if (!explicit.has(name)) addTemplate(name, value, 'env', out);
      continue;
    }
    if (!isEnvRef(value)) {
      if (explicit.has(name)) continue;
      const scheme = nearMissScheme(value) ?? mistypedPlaceholder(value);
      if (scheme) out.nearMisses.push({ variable: name, scheme });
      const inside = scheme ? undefined : embeddedScheme(value);
      if (inside) out.embedded.push({ variable: name, scheme: inside });
      continue;
    }
    out.refVariables.add(name);
    if (explicit.has(name)) continue;
    try {
      out.chosen.set(name, { variable: name, ref: parseRef(value), source: 'env' });
    } catch (err) {
      out.failures.push({ variable: name, ref: value, error: toSecrunError(err) });
    }
  }
}

/** Parses a template value; each bad placeholder becomes a failure of the variable. */
function addTemplate(variable: string, value: string, source: RefSource, out: Found): void {
  const { template, failures } = parseTemplate(value);
  for (const f of failures) out.failures.push({ variable, ref: f.shown, error: f.error });
  if (failures.length === 0) out.templates.set(variable, { variable, template, source });
}

function collectImports(entries: CollectInput['imports'], failures: ResolveFailure[]): CollectedImport[] {
  const imports: CollectedImport[] = [];
  let configIndex = 0;
  for (const entry of entries) {
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
  return imports;
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
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the text shows secrun template syntax
      'it must start with vault:, awssm: or arn:aws:secretsmanager:, or be a template with ${<reference>} placeholders ' +
      '(the value is not shown, it may be a secret)',
    'ref.notAReference',
  );
}
