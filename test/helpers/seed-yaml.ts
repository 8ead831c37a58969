/**
 * The `mounts:` block of a dev Vault seed (YAML, indented to sit under `vault:`): the KV mounts
 * named in `kv` with their versions, and a `database` engine with one role, `app`
 * (default TTL 1h, maximum `appMaxTtl`).
 */
export function vaultMountsYaml(kv: Record<string, 1 | 2>, appMaxTtl = '2h'): string {
  const kvLines = Object.entries(kv).map(
    ([mount, version]) => `    ${mount}: { type: kv, version: ${version} }`,
  );
  return [
    '  mounts:',
    ...kvLines,
    '    database:',
    '      type: database',
    '      roles:',
    `        app: { default_ttl: 1h, max_ttl: ${appMaxTtl} }`,
  ].join('\n');
}
