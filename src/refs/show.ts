import type { FieldSelector } from './secret-ref.ts';

const MAX_SHOWN = 200;

/** Quotes a reference for messages; long ones are shortened, control characters escaped. */
export function showRef(raw: string): string {
  const text = raw.length > MAX_SHOWN ? `${raw.slice(0, MAX_SHOWN)}...` : raw;
  return JSON.stringify(text);
}

/** The field selector as written in a reference (`#name`, `#/a/b`), for messages. */
export function showField(field: FieldSelector): string {
  return field.kind === 'key' ? `#${field.name}` : `#${field.text}`;
}

/** A field name for messages: quoted, shortened. Field names are not secret; values are. */
export function showName(name: string): string {
  return JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}...` : name);
}
