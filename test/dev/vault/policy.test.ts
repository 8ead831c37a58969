import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { allowed, buildAcl, hasMountAccess, ruleFor } from '../../../src/dev/vault/policy.ts';
import { parsePolicy, renderPolicy } from '../../../src/dev/vault/policy-text.ts';
import { newNamespace, type PolicyRule } from '../../../src/dev/vault/state.ts';

function aclOf(...policies: PolicyRule[][]) {
  const ns = newNamespace('', undefined);
  const names = policies.map((rules, i) => {
    ns.policies.set(`p${i}`, rules);
    return `p${i}`;
  });
  return buildAcl(ns, names);
}
const r = (path: string, ...capabilities: string[]): PolicyRule => ({ path, capabilities });
const caps = (set: Set<string> | undefined) => (set ? [...set].sort() : undefined);

// hashicorp/vault vault/acl.go: NewACL merges rules per path; AllowOperation picks one rule.
describe('dev Vault ACL (vault/acl.go)', () => {
  test('when two policies name the same path then their capabilities are merged, deny wins', () => {
    assert.deepEqual(caps(ruleFor(aclOf([r('a/b', 'read')], [r('a/b', 'list')]), 'a/b', false)), [
      'list',
      'read',
    ]);
    assert.deepEqual(caps(ruleFor(aclOf([r('a/b', 'read')], [r('a/b', 'deny')]), 'a/b', false)), ['deny']);
  });

  test('when a + rule and a glob compete then the later first wildcard, then non-prefix, then fewer +, then length win', () => {
    const acl = aclOf([r('s/+/x', 'read'), r('s/a/*', 'list'), r('s/+/+', 'update'), r('s/*', 'delete')]);
    assert.deepEqual(caps(ruleFor(acl, 's/a/x', false)), ['list']);
    assert.deepEqual(caps(ruleFor(acl, 's/b/x', false)), ['read']);
    assert.deepEqual(caps(ruleFor(acl, 's/b/y', false)), ['update']);
    assert.deepEqual(caps(ruleFor(acl, 's/b/y/z', false)), ['delete']);
  });

  test('when a list request ends in / then the exact rule without the slash and the glob above it count', () => {
    assert.equal(allowed(aclOf([r('s/dir', 'list')]), 's/dir/', 'GET', true), true);
    assert.equal(allowed(aclOf([r('s/dir*', 'list')]), 's/dir/', 'GET', true), true);
    assert.equal(allowed(aclOf([r('s/dir/*', 'list')]), 's/dir/', 'GET', true), true);
    assert.equal(allowed(aclOf([r('s/dir/*', 'read')]), 's/dir/', 'GET', true), false);
  });

  test('when PATCH is asked then only the patch capability allows it', () => {
    assert.equal(allowed(aclOf([r('s/x', 'update')]), 's/x', 'PATCH', false), false);
    assert.equal(allowed(aclOf([r('s/x', 'patch')]), 's/x', 'PATCH', false), true);
  });

  test('when a rule reaches under a mount then the token has mount access; a deny-only rule does not', () => {
    assert.equal(hasMountAccess(aclOf([r('secret/data/app/*', 'read')]), 'secret/'), true);
    assert.equal(hasMountAccess(aclOf([r('secret/+/app', 'read')]), 'secret/'), true);
    assert.equal(hasMountAccess(aclOf([r('secret/data/*', 'deny')]), 'secret/'), false);
    assert.equal(hasMountAccess(aclOf([r('other/*', 'read')]), 'secret/'), false);
  });
});

// hashicorp/vault vault/policy.go ParseACLPolicy: HCL or JSON, `policy =` shorthands.
describe('dev Vault policy text', () => {
  test('when HCL with comments, JSON or the old shorthand is given then the same rules come out', () => {
    const hcl = parsePolicy(
      '# c\npath "a/*" {\n  capabilities = ["read", "list"] // x\n}\n/* y */ path "b" { policy = "write" }',
    );
    assert.deepEqual(hcl, {
      ok: true,
      rules: [r('a/*', 'read', 'list'), r('b', 'create', 'read', 'update', 'delete', 'list')],
    });
    const json = parsePolicy('{"path": {"a/*": {"capabilities": ["read", "list"]}}}');
    assert.deepEqual(json, { ok: true, rules: [r('a/*', 'read', 'list')] });
  });

  test('when a rendered policy is parsed then it gives its rules back', () => {
    const rules = [r('x/+/y', 'read'), r('z*', 'deny')];
    assert.deepEqual(parsePolicy(renderPolicy(rules)), { ok: true, rules });
  });

  test('when a capability is unknown, a key is unmodelled or the text is broken then it is refused', () => {
    for (const text of [
      'path "a" { capabilities = ["fly"] }',
      'path "a" { capabilities = ["read"]\n allowed_parameters = { "x" = [] } }',
      'path "a" {',
      'key "a" {}',
    ]) {
      const out = parsePolicy(text);
      assert.equal(out.ok, false, text);
      if (!out.ok) assert.match(out.error, /^failed to parse policy: /);
    }
  });
});
