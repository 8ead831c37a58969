/** The filters a template placeholder may apply to its value: `${ref | url}`. */
export type TemplateFilter = 'url' | 'base64' | 'json';

/** Every filter, in the order messages list them. */
export const TEMPLATE_FILTERS: readonly TemplateFilter[] = ['url', 'base64', 'json'];

/** True when `name` is a known filter. */
export function isTemplateFilter(name: string): name is TemplateFilter {
  return (TEMPLATE_FILTERS as readonly string[]).includes(name);
}

/**
 * Applies one filter:
 * - `url`: percent-encodes everything but the RFC 3986 unreserved characters (`A-Z a-z 0-9 - . _ ~`),
 *   so the value is safe in any part of a URL (user info, path segment, query value);
 * - `base64`: the value's UTF-8 bytes, standard base64 with padding;
 * - `json`: the body of a JSON string (escaped, without the surrounding quotes).
 */
export function applyFilter(filter: TemplateFilter, value: string): string {
  switch (filter) {
    case 'url':
      return encodeURIComponent(value).replace(
        /[!'()*]/g,
        (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
      );
    case 'base64':
      return Buffer.from(value, 'utf8').toString('base64');
    case 'json':
      return JSON.stringify(value).slice(1, -1);
  }
}
