/**
 * The request-argument check node-vault runs before every request, in place of tv4 (passed as
 * node-vault's documented `tv4` option; the bundle leaves tv4 out). node-vault's schemas use
 * `type`, `properties`, `required`, `items` and `minimum`; tv4 re-registers and walks each
 * schema on every call, which cost more than a loopback request with hundreds of documents.
 */
interface ArgSchema {
  type?: string;
  properties?: Record<string, ArgSchema>;
  required?: readonly string[];
  items?: ArgSchema;
  minimum?: number;
}

/** What node-vault reads of tv4: `validate()`, then `error` when it returned false. */
export interface ArgsCheck {
  validate(data: unknown, schema: ArgSchema): boolean;
  error: (Error & { dataPath: string }) | null;
}

function typeOk(value: unknown, type: string): boolean {
  switch (type) {
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    case 'array':
      return Array.isArray(value);
    case 'integer':
      return Number.isInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    default:
      return typeof value === type;
  }
}

/** The first problem of `value` against `schema`, as [dataPath, message], or undefined. */
export function argProblem(value: unknown, schema: ArgSchema, at = ''): [string, string] | undefined {
  if (schema.type !== undefined && !typeOk(value, schema.type)) {
    return [at, `invalid type: ${Array.isArray(value) ? 'array' : typeof value} (expected ${schema.type})`];
  }
  if (schema.minimum !== undefined && typeof value === 'number' && value < schema.minimum) {
    return [at, `value ${value} is less than minimum ${schema.minimum}`];
  }
  if (Array.isArray(value) && schema.items) {
    for (const [i, item] of value.entries()) {
      const problem = argProblem(item, schema.items, `${at}/${i}`);
      if (problem) return problem;
    }
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    for (const key of schema.required ?? []) {
      if (record[key] === undefined) return [`${at}/${key}`, `missing required property: ${key}`];
    }
    for (const [key, sub] of Object.entries(schema.properties ?? {})) {
      if (record[key] === undefined) continue;
      const problem = argProblem(record[key], sub, `${at}/${key}`);
      if (problem) return problem;
    }
  }
  return undefined;
}

/** A fresh checker for one node-vault client. */
export function createArgsCheck(): ArgsCheck {
  const check: ArgsCheck = {
    error: null,
    validate(data, schema) {
      const problem = argProblem(data, schema);
      check.error = problem
        ? Object.assign(new Error(`node-vault arguments: ${problem[0] || '/'}: ${problem[1]}`), {
            dataPath: problem[0],
          })
        : null;
      return problem === undefined;
    },
  };
  return check;
}
