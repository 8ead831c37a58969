import { OPTIONS, type OptionSpec } from './options.ts';

/** A JSON Schema node (draft-07), as plain data. */
export type SchemaNode = Record<string, unknown>;

const NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_]*$';

const DEFINITIONS: SchemaNode = {
  duration: {
    description: 'A duration: a number of seconds (90) or units ms, s, m, h, d (500ms, 30s, 5m, 1h30m, 7d).',
    oneOf: [
      { type: 'integer', minimum: 0 },
      { type: 'string', pattern: '^(\\d+|(\\d+(\\.\\d+)?(ms|s|m|h|d))+)$' },
    ],
  },
  reference: {
    type: 'string',
    description:
      'A secret reference: vault:<path>[?version=N][#field], awssm:<name-or-arn>[?version-stage=..|version-id=..][#field] or a Secrets Manager ARN.',
    pattern: '^(vault:|awssm:|arn:aws(-cn|-us-gov)?:secretsmanager:)',
  },
  referenceOrTemplate: {
    type: 'string',
    description: `A secret reference, or a template: text with \${<reference>} placeholders (filters: \${ref | url}, \${ref | base64}, \${ref | json}; $\${ is a literal \${).`,
    pattern:
      '^(vault:|awssm:|arn:aws(-cn|-us-gov)?:secretsmanager:)|\\$\\{\\s*(vault:|awssm:|arn:aws(-cn|-us-gov)?:secretsmanager:)',
  },
  onChange: {
    type: 'string',
    description:
      'What to do when a watched secret changes: restart, signal:SIGHUP (any signal), exit or ignore.',
    pattern: '^(restart|exit|ignore|signal:SIG[A-Z0-9]+)$',
  },
  envPattern: {
    type: 'string',
    description: 'A variable name, or a prefix ending in * (VAULT_*).',
    pattern: '^([^=*\\s]+\\*?|\\*)$',
  },
};

/** The entries that are not single settings: `env:` and `import:`. */
const ENTRIES: SchemaNode = {
  env: {
    type: 'object',
    description: 'Variables of the child, each from a reference or a template.',
    propertyNames: { pattern: NAME_PATTERN },
    additionalProperties: {
      oneOf: [
        { $ref: '#/definitions/referenceOrTemplate' },
        {
          type: 'object',
          additionalProperties: false,
          required: ['ref'],
          properties: {
            ref: { $ref: '#/definitions/referenceOrTemplate' },
            on_change: { $ref: '#/definitions/onChange' },
            write: {
              type: 'boolean',
              description:
                'Fetch the document by one write (POST) of params to the Vault path instead of a read (e.g. aws/sts/<role>); a path is written only when its entry says so.',
            },
            params: {
              type: 'object',
              description:
                'The parameters of the write (write: true), sent as its JSON body, e.g. { ttl: 15m }.',
              propertyNames: { pattern: '^[A-Za-z0-9_.-]+$' },
              additionalProperties: { anyOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }] },
            },
          },
        },
      ],
    },
  },
  import: {
    type: 'array',
    description: 'Every field of each secret becomes a variable: prefix + FIELD.',
    items: {
      oneOf: [
        { $ref: '#/definitions/reference' },
        {
          type: 'object',
          additionalProperties: false,
          required: ['ref'],
          properties: {
            ref: { $ref: '#/definitions/reference' },
            prefix: { type: 'string', pattern: '^([A-Za-z_][A-Za-z0-9_]*)?$' },
          },
        },
      ],
    },
  },
};

/**
 * The JSON Schema of the config file, generated from the option table (options.ts): what
 * schema/secrun.schema.json ships and the validator checks.
 */
export function configSchema(): SchemaNode {
  const properties: SchemaNode = { $schema: { type: 'string' } };
  for (const o of OPTIONS) {
    if (o.file === undefined) continue;
    const keys = o.file.split('.');
    const last = keys.pop() as string;
    let at = properties;
    for (const key of keys) {
      at[key] ??= { type: 'object', additionalProperties: false, properties: {} };
      at = (at[key] as { properties: SchemaNode }).properties;
    }
    at[last] = propertyOf(o);
  }
  Object.assign(properties, ENTRIES);
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'secrun configuration file',
    description:
      'secrun.yaml / secrun.json. Every key is optional; flags win over SECRUN_* variables, which win over this file.',
    type: 'object',
    additionalProperties: false,
    definitions: DEFINITIONS,
    properties,
  };
}

function propertyOf(o: OptionSpec): SchemaNode {
  const description = o.default !== undefined ? `${cap(o.help)} (default: ${o.default}).` : `${cap(o.help)}.`;
  switch (o.kind) {
    case 'string':
      return { type: 'string', minLength: 1, ...(o.pattern ? { pattern: o.pattern } : {}), description };
    case 'boolean':
      return { type: 'boolean', description };
    case 'duration':
      return { $ref: '#/definitions/duration', description };
    case 'enum':
      return { enum: [...(o.choices ?? [])], description };
    case 'name':
      return { type: 'string', pattern: NAME_PATTERN, description };
    case 'onChange':
      return { $ref: '#/definitions/onChange', description };
    case 'patterns':
      return { type: 'array', items: { $ref: '#/definitions/envPattern' }, description };
    case 'entries':
      return {
        type: 'object',
        propertyNames: { pattern: NAME_PATTERN },
        additionalProperties: { $ref: '#/definitions/referenceOrTemplate' },
        description,
      };
  }
}

function cap(text: string): string {
  return `${text[0]?.toUpperCase() ?? ''}${text.slice(1)}`;
}
