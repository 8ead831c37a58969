/**
 * Templates: values built from several secrets, e.g.
 * `postgresql://${vault:database/creds/app#username}:${vault:database/creds/app#password | url}@db/app`.
 * Each placeholder is resolved like a reference of its own (so placeholders of one document share
 * its one read); the template is rendered from their values. `$${` writes a literal `${`.
 */
import { RefError, type SecrunError, toSecrunError } from '../base/errors.ts';
import { nearMissScheme } from './near-miss.ts';
import { parseRef } from './parse.ts';
import { ARN_PREFIXES, isRef } from './scheme.ts';
import type { SecretRef } from './secret-ref.ts';
import { applyFilter, isTemplateFilter, TEMPLATE_FILTERS, type TemplateFilter } from './template-filters.ts';

/** One `${ref | filter...}` placeholder. */
export interface TemplatePart {
  ref: SecretRef;
  filters: TemplateFilter[];
}

/** A parsed template: literal text and placeholders in order. Literal text is never printed. */
export interface Template {
  pieces: Array<string | TemplatePart>;
  /** The placeholders, in order (the same objects as in `pieces`). */
  parts: TemplatePart[];
}

/** A placeholder that could not be parsed; `shown` is what to print in the reference column. */
export interface TemplateFailure {
  shown: string;
  error: SecrunError;
}

/** Shown in place of a template (its literal text may hold a secret typed by mistake). */
export const TEMPLATE_SHOWN = '(template)';

const SCHEME_START = ['vault:', 'awssm:', ...ARN_PREFIXES];
const MAX_FILTER_SHOWN = 40;

/**
 * True when the value is a template: not a reference itself, and it contains `${` followed (after
 * optional spaces) by a registered scheme. Other `${...}` text (`${HOME}`) makes no template.
 */
export function isTemplate(value: string): boolean {
  if (typeof value !== 'string' || isRef(value)) return false;
  let at = value.indexOf('${');
  while (at !== -1) {
    if (startsWithScheme(value.slice(at + 2).trimStart())) return true;
    at = value.indexOf('${', at + 2);
  }
  return false;
}

/**
 * The scheme a `${...}` placeholder of a value seems to have meant when it is a mistyped one
 * (`${valut:secret/db#pw}`), for values that are no template because of it; else undefined.
 * `$${` is literal text. Safe to print; the value is not.
 */
export function mistypedPlaceholder(value: string): string | undefined {
  if (typeof value !== 'string') return undefined;
  for (let at = value.indexOf('${'); at !== -1; at = value.indexOf('${', at + 2)) {
    if (value[at - 1] === '$') continue;
    const miss = placeholderNearMiss(value.slice(at + 2));
    if (miss !== undefined) return miss;
  }
  return undefined;
}

/** The scheme the reference of a placeholder (text after its `${`) seems to have meant. */
function placeholderNearMiss(body: string): string | undefined {
  return nearMissScheme(body.trimStart().split(/[|}]/, 1)[0]?.trim() ?? '');
}

function startsWithScheme(text: string): boolean {
  return SCHEME_START.some((s) => text.startsWith(s));
}

/**
 * Parses a template (hand-written, one pass): `$${` is a literal `${`; `${<reference> [| filter]...}`
 * a placeholder, the reference ending at the first `|` or `}` (write them inside a reference as
 * `%7C` / `%7D`); `${` followed by anything but a registered scheme is literal text. Every bad
 * placeholder is reported (unknown filter, bad reference, unterminated, nested, mistyped scheme),
 * each as a RefError (exit 65) that quotes only the placeholder, never the literal text.
 */
export function parseTemplate(value: string): { template: Template; failures: TemplateFailure[] } {
  const pieces: Template['pieces'] = [];
  const parts: TemplatePart[] = [];
  const failures: TemplateFailure[] = [];
  let text = '';
  let i = 0;
  while (i < value.length) {
    if (value.startsWith('$${', i)) {
      text += '${';
      i += 3;
      continue;
    }
    if (!value.startsWith('${', i)) {
      text += value[i];
      i++;
      continue;
    }
    const close = value.indexOf('}', i + 2);
    const body = close === -1 ? value.slice(i + 2) : value.slice(i + 2, close);
    const trimmed = body.trimStart();
    if (!startsWithScheme(trimmed)) {
      const miss = placeholderNearMiss(body);
      if (miss !== undefined) {
        failures.push({
          shown: TEMPLATE_SHOWN,
          error: new RefError(
            `a placeholder of the template looks like a mistyped ${miss} reference; fix the scheme (write $\${ for a literal \${)`,
            'ref.unknownScheme',
          ),
        });
      }
      text += '${';
      i += 2;
      continue;
    }
    if (close === -1 || body.includes('${')) {
      failures.push({
        shown: TEMPLATE_SHOWN,
        error: new RefError(
          close === -1
            ? `a placeholder of the template has no closing "}"; write \${<reference>} (a "}" inside a reference is %7D)`
            : `a placeholder of the template contains another "\${"; placeholders cannot be nested`,
          'ref.badTemplate',
        ),
      });
      if (close === -1) break;
      i = close + 1;
      continue;
    }
    const part = parsePlaceholder(body, failures);
    if (part) {
      if (text !== '') pieces.push(text);
      text = '';
      pieces.push(part);
      parts.push(part);
    }
    i = close + 1;
  }
  if (text !== '') pieces.push(text);
  return { template: { pieces, parts }, failures };
}

function parsePlaceholder(body: string, failures: TemplateFailure[]): TemplatePart | undefined {
  const [refText = '', ...filterTexts] = body.split('|').map((s) => s.trim());
  const shown = `\${${body.trim()}}`;
  let ok = true;
  const filters: TemplateFilter[] = [];
  for (const name of filterTexts) {
    if (isTemplateFilter(name)) {
      filters.push(name);
      continue;
    }
    ok = false;
    const what =
      name === '' ? 'an empty filter' : `unknown filter ${JSON.stringify(name.slice(0, MAX_FILTER_SHOWN))}`;
    failures.push({
      shown,
      error: new RefError(
        `${what} in ${shown}; filters are ${TEMPLATE_FILTERS.join(', ')}`,
        'ref.unknownFilter',
      ),
    });
  }
  try {
    const ref = parseRef(refText);
    return ok ? { ref, filters } : undefined;
  } catch (err) {
    failures.push({ shown, error: toSecrunError(err) });
    return undefined;
  }
}

/** Renders a template; `partValue(i)` is the value of placeholder `i` (before its filters). */
export function renderTemplate(template: Template, partValue: (index: number) => string): string {
  let out = '';
  let index = 0;
  for (const piece of template.pieces) {
    if (typeof piece === 'string') {
      out += piece;
      continue;
    }
    out += piece.filters.reduce((v, f) => applyFilter(f, v), partValue(index));
    index++;
  }
  return out;
}

// '=' never occurs in an environment variable name, so a part name cannot collide with one.
const PART_SEPARATOR = '=';

/** The internal name under which placeholder `index` of template variable `variable` is resolved. */
export function templatePartName(variable: string, index: number): string {
  return `${variable}${PART_SEPARATOR}${index}`;
}

/** The variable a (possibly internal part) name belongs to: `DATABASE_URL=1` -> `DATABASE_URL`. */
export function variableOf(name: string): string {
  const at = name.indexOf(PART_SEPARATOR);
  return at === -1 ? name : name.slice(0, at);
}

/** True for an internal part name ({@link templatePartName}). */
export function isTemplatePart(name: string): boolean {
  return name.includes(PART_SEPARATOR);
}

/** A template variable to build. */
export interface NamedTemplate {
  variable: string;
  template: Template;
}

/** The entries to resolve for templates: one per placeholder, under its part name. */
export function templateEntries(
  templates: readonly NamedTemplate[],
): Array<{ variable: string; ref: SecretRef }> {
  return templates.flatMap(({ variable, template }) =>
    template.parts.map((part, i) => ({ variable: templatePartName(variable, i), ref: part.ref })),
  );
}

/**
 * The values a child gets: every value that is not a template part, plus each template rendered
 * from its parts. A template with a missing part is left out (the resolver failed it already).
 */
export function renderValues(
  values: ReadonlyMap<string, string>,
  templates: readonly NamedTemplate[],
): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, value] of values) if (!isTemplatePart(name)) out.set(name, value);
  for (const { variable, template } of templates) {
    const parts = template.parts.map((_, i) => values.get(templatePartName(variable, i)));
    if (parts.some((p) => p === undefined)) continue;
    out.set(
      variable,
      renderTemplate(template, (i) => parts[i] as string),
    );
  }
  return out;
}

/**
 * Every secret as (variable, value) pairs for masking: plain values, each template's result and
 * each of its parts (shown under the template's variable).
 */
export function secretPairs(
  values: ReadonlyMap<string, string>,
  templates: readonly NamedTemplate[],
): Array<[string, string]> {
  const pairs: Array<[string, string]> = [...values].map(([name, value]) => [variableOf(name), value]);
  for (const [name, value] of renderValues(values, templates)) {
    if (templates.some((t) => t.variable === name)) pairs.push([name, value]);
  }
  return pairs;
}
