/**
 * Streaming redaction of secret values in the child's output: the patterns of every form a value
 * is printed in (`encodings.ts`), one automaton that finds them all (`automaton.ts`), and the
 * stream that replaces them across chunk boundaries (`stream.ts`). This file is the face.
 */
export { maskPatterns, WRAP_MIN_BYTES } from './encodings.ts';
export { createMasker, Masker } from './stream.ts';
export {
  DEFAULT_FLUSH_MS,
  DEFAULT_MIN_LENGTH,
  type MaskForm,
  type MaskOptions,
  type MaskPattern,
  type MaskSecret,
  type MaskStats,
} from './types.ts';
