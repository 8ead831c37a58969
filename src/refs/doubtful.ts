import { isRef } from './scheme.ts';
import { isTemplate } from './template.ts';

// A scheme word inside other text, after something that cannot be part of a host name or path
// (`=`, `;`, space, ...), followed by a path: `jdbc:...?password=vault:secret/db#pw`. Not
// `https://vault:8200` (a host named vault and a port).
const EMBEDDED =
  /(?<![A-Za-z0-9_.\-/@$])(vault|awssm):(?=[A-Za-z_])|(?<![A-Za-z0-9_-])arn:aws(?:-cn|-us-gov)?:secretsmanager:/;

/**
 * The scheme (`vault:`, `awssm:`, `arn:`) of a reference written inside other text rather than as
 * the whole value or as a template placeholder (`${vault:...}`): secrun passes such a value
 * through unchanged, which is rarely what was meant. Safe to print; the value is not.
 */
export function embeddedScheme(value: string): string | undefined {
  if (typeof value !== 'string' || isRef(value) || isTemplate(value)) return undefined;
  const m = EMBEDDED.exec(value);
  if (!m) return undefined;
  return m[1] ? `${m[1]}:` : 'arn:';
}

/** One argument of the command that holds a reference: arguments are never resolved. */
export interface ArgvReference {
  /** 0 = the command itself, 1 = its first argument. */
  index: number;
  scheme: string;
}

/** Arguments of the command line that hold a reference (whole, in a template, or inside text). */
export function argvReferences(argv: readonly string[]): ArgvReference[] {
  const out: ArgvReference[] = [];
  argv.forEach((arg, index) => {
    if (isRef(arg))
      out.push({ index, scheme: arg.startsWith('arn:') ? 'arn:' : arg.slice(0, arg.indexOf(':') + 1) });
    else if (isTemplate(arg)) out.push({ index, scheme: 'template' });
    else {
      const scheme = embeddedScheme(arg);
      if (scheme) out.push({ index, scheme });
    }
  });
  return out;
}
