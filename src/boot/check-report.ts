import { formatDuration } from '../base/duration.ts';
import { fdPath } from '../launch/fd-files.ts';
import type { ProviderCheck } from '../providers/provider.ts';
import { isTemplatePart, variableOf } from '../refs/index.ts';
import type { Resolution } from '../resolve/resolve.ts';
import type { Hygiene } from './hygiene.ts';

/** One row of `secrun check`: never a value. */
export interface CheckRow {
  variable: string;
  ref: string;
  provider: string;
  /** True for a placeholder of a template: `ref` is one of the references the variable is built from. */
  template?: true;
  /** The document was fetched by a write (a config entry's `write: true`), not a read. */
  write?: true;
  /** The command gets the value as an in-memory file: the variable holds this path (`/dev/fd/N`). */
  file?: string;
  version?: string | number;
  leaseId?: string;
  leaseTtl?: number;
  renewable?: boolean;
  /** Age of the secret version in seconds, where the provider tells. */
  ageSeconds?: number;
  createdAt?: string;
}

/** The `secrun check --json` document. */
export interface CheckData {
  /** False when the hygiene review has findings (exit 79). */
  ok: boolean;
  secrets: number;
  documents: number;
  providers: string[];
  variables: CheckRow[];
  /** Variables built from templates, with their references in order (never the template text). */
  templates?: Array<{ variable: string; references: string[] }>;
  /** Variables given to the command as in-memory files (`--file`, `files:`): the path it gets. */
  files?: Array<{ variable: string; path: string }>;
  /** Ages, certificate expiries and findings (`--max-age`, `--min-validity`). */
  hygiene?: Hygiene;
  /** Each provider's connection, auth and certificate facts under its key (`vault`). */
  [provider: string]: unknown;
}

/**
 * Builds the value-free report from a resolution; `files` are the variables the command would
 * read as in-memory files, in fd order.
 */
export function checkReport(
  resolution: Resolution,
  now: Date,
  checks: ProviderCheck[] = [],
  hygiene?: Hygiene,
  files: readonly string[] = [],
): CheckData {
  const fileOf = new Map(files.map((variable, i) => [variable, fdPath(i)]));
  const variables = resolution.variables.map((v): CheckRow => {
    const row: CheckRow = { variable: variableOf(v.variable), ref: v.ref, provider: v.provider };
    if (isTemplatePart(v.variable)) row.template = true;
    if (v.write) row.write = true;
    const file = fileOf.get(row.variable);
    if (file) row.file = file;
    if (v.version !== undefined) row.version = v.version;
    if (v.lease) {
      row.leaseId = v.lease.id;
      row.leaseTtl = v.lease.duration;
      row.renewable = v.lease.renewable;
    }
    if (v.createdAt) {
      row.createdAt = v.createdAt.toISOString();
      // Rounded down like the hygiene review's ages, so one secret shows one age everywhere.
      row.ageSeconds = Math.max(0, Math.floor((now.getTime() - v.createdAt.getTime()) / 1000));
    }
    return row;
  });
  const templates = new Map<string, string[]>();
  for (const row of variables) {
    if (row.template) templates.set(row.variable, [...(templates.get(row.variable) ?? []), row.ref]);
  }
  return {
    ok: (hygiene?.findings.length ?? 0) === 0,
    secrets: variables.length,
    documents: resolution.documents.length,
    providers: [...new Set(resolution.documents.map((d) => d.scheme))],
    variables,
    ...(templates.size > 0
      ? { templates: [...templates].map(([variable, references]) => ({ variable, references })) }
      : {}),
    ...(fileOf.size > 0 ? { files: [...fileOf].map(([variable, path]) => ({ variable, path })) } : {}),
    ...Object.fromEntries(checks.map((c) => [c.key, c.facts])),
    ...(hygiene ? { hygiene } : {}),
  };
}

/** Renders the report as an aligned table. */
export function formatCheckTable(data: CheckData): string {
  const header = ['VARIABLE', 'REFERENCE', 'PROVIDER', 'VERSION', 'LEASE', 'TTL', 'RENEWABLE', 'AGE'];
  const rows = data.variables.map((r) => [
    r.variable,
    `${r.template ? `\${${r.ref}}` : r.ref}${r.write ? ' (write)' : ''}`,
    r.provider,
    r.version === undefined ? '-' : String(r.version),
    r.leaseId ?? '-',
    r.leaseTtl === undefined ? '-' : formatDuration(r.leaseTtl),
    r.renewable === undefined ? '-' : r.renewable ? 'yes' : 'no',
    r.ageSeconds === undefined ? '-' : formatDuration(r.ageSeconds),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  if (data.secrets === 0) {
    return 'no secret references found: set variables to vault:/awssm: references, or use --env, --import or a config file\n';
  }
  const noun = data.secrets === 1 ? 'secret' : 'secrets';
  const docs = data.documents === 1 ? 'document' : 'documents';
  const built = data.templates?.length
    ? `; ${data.templates.map((t) => t.variable).join(', ')} built from templates (their placeholders are shown as \${...})`
    : '';
  return `${[line(header), ...rows.map(line)].join('\n')}\n\n${data.secrets} ${noun} resolved from ${data.documents} ${docs} (${data.providers.join(', ')})${built}\n${deliveryNotes(data)}`;
}

/** Lines about variables that are not plain values read: in-memory files and writes. */
function deliveryNotes(data: CheckData): string {
  const lines = (data.files ?? []).map(
    (f) =>
      `${f.variable} is given to the command as an in-memory file, ${f.variable}=${f.path} (a pipe, read once), not as a value\n`,
  );
  const rows = data.variables.filter((r) => r.write);
  const written = [...new Set(rows.map((r) => r.variable))];
  if (written.length > 0) {
    const leased = rows.some((r) => r.leaseId !== undefined);
    lines.push(
      `${written.join(', ')} ${written.length === 1 ? 'comes' : 'come'} from a write (config write: true): check performed it${leased ? ' and handed its lease back' : ''}\n`,
    );
  }
  return lines.join('');
}
