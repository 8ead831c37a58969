import { isCapability } from './policy.ts';
import type { PolicyRule } from './state.ts';

/** What a policy body parses to: its rules, or the reason it was refused. */
export type ParsedPolicy = { ok: true; rules: PolicyRule[] } | { ok: false; error: string };

type Value = string | number | boolean | Value[] | Block;
interface Block {
  entries: Array<{ key: string; labels: string[]; value: Value }>;
}

/** Old-style `policy = "read"` shorthands (Vault's policy.go). */
const SHORTHAND: Record<string, string[]> = {
  deny: ['deny'],
  read: ['read', 'list'],
  write: ['create', 'read', 'update', 'delete', 'list'],
  sudo: ['create', 'read', 'update', 'delete', 'list', 'sudo'],
};

/** Path keys Vault accepts that this server does not enforce: refused, so nobody relies on them. */
const UNMODELLED = new Set([
  'allowed_parameters',
  'denied_parameters',
  'required_parameters',
  'min_wrapping_ttl',
  'max_wrapping_ttl',
  'mfa_methods',
  'control_group',
  'subscribe_event_types',
]);

function tokenize(text: string): string[] {
  const tokens: string[] = [];
  const re = /\s+|#[^\n]*|\/\/[^\n]*|\/\*[\s\S]*?\*\/|"(?:[^"\\]|\\.)*"|[{}[\]=,:]|[A-Za-z0-9_.\-+*/]+/y;
  let pos = 0;
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) throw new Error(`unexpected character ${JSON.stringify(text[pos])} at offset ${pos}`);
    pos = re.lastIndex;
    const t = m[0];
    if (/^\s|^#|^\/\/|^\/\*/.test(t)) continue;
    tokens.push(t);
  }
  return tokens;
}

class Parser {
  #tokens: string[];
  #i = 0;
  constructor(tokens: string[]) {
    this.#tokens = tokens;
  }
  peek(): string | undefined {
    return this.#tokens[this.#i];
  }
  next(): string {
    const t = this.#tokens[this.#i++];
    if (t === undefined) throw new Error('unexpected end of policy');
    return t;
  }
  expect(t: string): void {
    const got = this.next();
    if (got !== t) throw new Error(`expected ${JSON.stringify(t)}, got ${JSON.stringify(got)}`);
  }
  body(end: string | undefined): Block {
    const entries: Block['entries'] = [];
    while (this.peek() !== end) {
      const key = unquote(this.next());
      const labels: string[] = [];
      while (this.peek()?.startsWith('"')) labels.push(unquote(this.next()));
      if (this.peek() === '=') {
        this.next();
        entries.push({ key, labels, value: this.value() });
      } else {
        this.expect('{');
        entries.push({ key, labels, value: this.body('}') });
        this.expect('}');
      }
      if (this.peek() === ',') this.next();
    }
    return { entries };
  }
  value(): Value {
    const t = this.next();
    if (t === '[') {
      const out: Value[] = [];
      while (this.peek() !== ']') {
        out.push(this.value());
        if (this.peek() === ',') this.next();
      }
      this.expect(']');
      return out;
    }
    if (t === '{') {
      const b = this.body('}');
      this.expect('}');
      return b;
    }
    if (t.startsWith('"')) return unquote(t);
    if (t === 'true' || t === 'false') return t === 'true';
    if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
    throw new Error(`unexpected ${JSON.stringify(t)}`);
  }
}

function unquote(t: string): string {
  return t.startsWith('"') ? (JSON.parse(t) as string) : t;
}

function ruleFrom(path: string, settings: Record<string, unknown>): PolicyRule {
  const caps: string[] = [];
  for (const [key, value] of Object.entries(settings)) {
    if (key === 'capabilities') {
      if (!Array.isArray(value) || !value.every((c) => typeof c === 'string'))
        throw new Error(`path ${JSON.stringify(path)}: capabilities must be a list of strings`);
      for (const c of value) {
        if (!isCapability(c))
          throw new Error(`path ${JSON.stringify(path)}: invalid capability ${JSON.stringify(c)}`);
        caps.push(c);
      }
    } else if (key === 'policy') {
      const expanded = typeof value === 'string' ? SHORTHAND[value] : undefined;
      if (!expanded) throw new Error(`path ${JSON.stringify(path)}: invalid policy ${JSON.stringify(value)}`);
      caps.push(...expanded);
    } else if (UNMODELLED.has(key)) {
      throw new Error(`path ${JSON.stringify(path)}: ${key} is not modelled by the dev server`);
    } else {
      throw new Error(`path ${JSON.stringify(path)}: invalid key ${JSON.stringify(key)}`);
    }
  }
  const unique = [...new Set(caps)];
  return { path: path.replace(/^\/+/, ''), capabilities: unique.includes('deny') ? ['deny'] : unique };
}

function blockToObject(b: Block): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const e of b.entries) out[e.key] = isBlock(e.value) ? blockToObject(e.value) : e.value;
  return out;
}

const isBlock = (v: unknown): v is Block =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && 'entries' in v;

function rulesFromJson(doc: unknown): PolicyRule[] {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw new Error('policy is not an object');
  const rules: PolicyRule[] = [];
  for (const [key, value] of Object.entries(doc)) {
    if (key !== 'path') throw new Error(`invalid key ${JSON.stringify(key)}`);
    if (typeof value !== 'object' || value === null) throw new Error('path must be an object');
    for (const [path, settings] of Object.entries(value)) {
      if (typeof settings !== 'object' || settings === null)
        throw new Error(`path ${JSON.stringify(path)} must be an object`);
      rules.push(ruleFrom(path, settings as Record<string, unknown>));
    }
  }
  return rules;
}

function rulesFromHcl(text: string): PolicyRule[] {
  const p = new Parser(tokenize(text));
  const top = p.body(undefined);
  const rules: PolicyRule[] = [];
  for (const e of top.entries) {
    if (e.key !== 'path') throw new Error(`invalid key ${JSON.stringify(e.key)}`);
    if (e.labels.length !== 1 || !isBlock(e.value)) throw new Error('path needs one quoted path and a block');
    rules.push(ruleFrom(e.labels[0]!, blockToObject(e.value)));
  }
  return rules;
}

/** Parses an ACL policy written in HCL or JSON (the `policy` field of sys/policies/acl). */
export function parsePolicy(text: string): ParsedPolicy {
  try {
    const trimmed = text.trim();
    const rules = trimmed.startsWith('{') ? rulesFromJson(JSON.parse(trimmed)) : rulesFromHcl(trimmed);
    return { ok: true, rules };
  } catch (err) {
    return { ok: false, error: `failed to parse policy: ${(err as Error).message}` };
  }
}

/** HCL text for rules that came from the seed (what a read of the policy returns). */
export function renderPolicy(rules: PolicyRule[]): string {
  return rules
    .map((r) => `path ${JSON.stringify(r.path)} {\n  capabilities = ${JSON.stringify(r.capabilities)}\n}\n`)
    .join('\n');
}
