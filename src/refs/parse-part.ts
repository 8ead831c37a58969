import { RefError } from '../base/errors.ts';
import { showRef } from './show.ts';

const CONTROL = /[\u0000-\u001f\u007f]/;

/** A RefError that quotes the reference: `reference "<raw>": <problem>`. */
export function refError(raw: string, code: string, problem: string): RefError {
  return new RefError(`reference ${showRef(raw)}: ${problem}`, code);
}

/** Percent-decodes one part of a reference (`part` names it in the error). @throws RefError `ref.badEncoding`. */
export function decodePart(raw: string, part: string, text: string): string {
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    throw refError(
      raw,
      'ref.badEncoding',
      `bad percent-encoding in the ${part}; write a literal % as %25 and use %XX with two hex digits`,
    );
  }
}

/** Refuses a (decoded) part with a control character. @throws RefError `ref.controlChar`. */
export function rejectControlChars(raw: string, part: string, text: string): void {
  if (CONTROL.test(text)) {
    throw refError(raw, 'ref.controlChar', `the ${part} contains a control character; remove it`);
  }
}
