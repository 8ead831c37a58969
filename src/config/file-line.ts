/** `file:line` for messages, or just `file` when the line is unknown. */
export function fileLine(file: string, line: number | undefined): string {
  return `${file}${line ? `:${line}` : ''}`;
}
