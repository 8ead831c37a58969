import { isRef } from './scheme.ts';

const SCHEME_WORDS = ['vault', 'awssm'] as const;

/**
 * The scheme a value seems to have meant when it looks like a mistyped reference
 * (`valut:`, `vualt:`, `awsm:`, `aws-sm:`, or `VAULT:` in the wrong case), else undefined.
 * Only the text before the first `:` is looked at: 4-8 lowercase letters or `-` within two
 * edits (a swap counts as one) of `vault` / `awssm`. The result is `vault:` or `awssm:` and is
 * safe to print; the value itself must never be printed.
 */
export function nearMissScheme(value: string): string | undefined {
  if (typeof value !== 'string' || isRef(value)) return undefined;
  const colon = value.indexOf(':');
  if (colon < 4 || colon > 8) return undefined;
  const word = value.slice(0, colon);
  const lower = word.toLowerCase();
  for (const scheme of SCHEME_WORDS) if (lower === scheme) return `${scheme}:`;
  if (!/^[a-z][a-z-]*$/.test(word)) return undefined;
  let best: { scheme: string; distance: number } | undefined;
  for (const scheme of SCHEME_WORDS) {
    const distance = editDistance(word, scheme);
    if (distance <= 2 && (best === undefined || distance < best.distance)) best = { scheme, distance };
  }
  return best ? `${best.scheme}:` : undefined;
}

/** Optimal-string-alignment distance (a swap of two neighbours counts as one edit). */
function editDistance(a: string, b: string): number {
  const d: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row: number[] = [];
    for (let j = 0; j <= b.length; j++) {
      if (i === 0 || j === 0) {
        row.push(i + j);
        continue;
      }
      const prev = d[i - 1] as number[];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(
        (prev[j] as number) + 1,
        (row[j - 1] as number) + 1,
        (prev[j - 1] as number) + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, ((d[i - 2] as number[])[j - 2] as number) + 1);
      }
      row.push(best);
    }
    d.push(row);
  }
  return (d[a.length] as number[])[b.length] as number;
}
