// biome-ignore-all lint/suspicious/noTemplateCurlyInString: secrun templates are ${...} text
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { type Bed, childReport, FIXTURES, findCanaries, NODE, runSecrun, startBed } from '../helpers/cli.ts';

let bed: Bed;
before(async () => {
  bed = await startBed();
});
after(async () => {
  await bed.close();
});
beforeEach(() => bed.reset());

const printEnv = [NODE, `${FIXTURES}print-env.mjs`];
const DATABASE_URL =
  'postgresql://${vault:database/creds/app#username}:${vault:database/creds/app#password | url}@db:5432/app';

describe('secrun run: templates', () => {
  test('when templates come from the environment, --env and the config file then each is built and a dynamic pair is one read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'secrun-tpl-'));
    try {
      writeFileSync(
        join(dir, 'secrun.yaml'),
        [
          'env:',
          '  STRIPE_JSON: \'{"key":"${awssm:prod/stripe#api_key | json}","kv":"${vault:secret/app/db#password}"}\'',
          '  DB_AUTH:',
          '    ref: "Basic ${vault:secret/app/db#username}:$${literal} ${vault:secret/app/api#key | base64}"',
          '',
        ].join('\n'),
      );
      const r = await runSecrun(
        [
          'run',
          '--mode',
          'supervise',
          '--env',
          'FLAG_URL=https://x/?k=${vault:secret/app/api#key | url}',
          '--',
          ...printEnv,
        ],
        { ...bed.env, DATABASE_URL, DB_USER: 'vault:database/creds/app#username', SHELLISH: '${HOME}/x' },
        { cwd: dir },
      );
      assert.equal(r.code, 0, r.stderr);
      const child = childReport(r.stdout).env;
      const c = bed.canaries as Record<'apiKey' | 'stripe' | 'dbPassword', string>;
      const user = child['DB_USER'] ?? '';
      assert.match(user, /\S{8,}/);
      assert.match(
        child['DATABASE_URL'] ?? '',
        new RegExp(`^postgresql://${user}:[A-Za-z0-9%._~-]+@db:5432/app$`),
      );
      assert.equal(bed.vault.log.filter({ path: '/v1/database/creds/app' }).length, 1, 'one read, one lease');
      assert.deepEqual(JSON.parse(child['STRIPE_JSON'] ?? ''), { key: c.stripe, kv: c.dbPassword });
      assert.equal(child['DB_AUTH'], `Basic app:\${literal} ${Buffer.from(c.apiKey).toString('base64')}`);
      assert.equal(child['FLAG_URL'], `https://x/?k=${encodeURIComponent(c.apiKey)}`);
      assert.equal(child['SHELLISH'], '${HOME}/x', 'text without a registered scheme passes through');
      assert.deepEqual(findCanaries(bed.canaries, r.stderr), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('when a template has an unknown filter and another secret is missing then both are in the one error (65) and nothing starts', async () => {
    const r = await runSecrun(['run', '--', ...printEnv], {
      ...bed.env,
      URL: 'pw-literal-text${vault:secret/app/db#password | urlencode}',
      GONE: 'vault:secret/app/gone#x',
      PART_GONE: 'x=${vault:secret/app/db#nope}',
    });
    assert.equal(r.code, 65, r.stderr);
    assert.equal(r.stdout, '', 'the command was not started');
    assert.match(r.stderr, /could not resolve 3 secrets/);
    assert.match(
      r.stderr,
      /URL\s+\$\{vault:secret\/app\/db#password \| urlencode\}\s+.*unknown filter "urlencode"/,
    );
    assert.match(r.stderr, /GONE\s+vault:secret\/app\/gone#x/);
    assert.match(r.stderr, /PART_GONE\s+vault:secret\/app\/db#nope\s+no field "nope"/);
    assert.doesNotMatch(r.stderr, /pw-literal-text/);
  });

  test('when output is masked then a template result and its parts are redacted under the variable name', async () => {
    const r = await runSecrun(['run', '--mask', '--', ...printEnv], {
      ...bed.env,
      KV_URL: 'https://svc/${vault:secret/app/db#password}/x',
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /"KV_URL":"<redacted:KV_URL>"/);
    assert.deepEqual(findCanaries(bed.canaries, r.stdout, r.stderr), []);
  });
});

describe('secrun check: templates', () => {
  test('when a variable is a template then check lists it with its references and no value', async () => {
    const env = {
      ...bed.env,
      DATABASE_URL: `pw-literal-text${DATABASE_URL}`,
      KV: 'vault:secret/app/db#password',
    };
    const r = await runSecrun(['check'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /DATABASE_URL\s+\$\{vault:database\/creds\/app#username\}/);
    assert.match(r.stdout, /DATABASE_URL\s+\$\{vault:database\/creds\/app#password\}/);
    assert.match(r.stdout, /DATABASE_URL built from templates/);
    assert.doesNotMatch(r.stdout, /pw-literal-text/);

    const j = await runSecrun(['check', '--json'], env);
    assert.equal(j.code, 0, j.stderr);
    const report = JSON.parse(j.stdout) as {
      templates: Array<{ variable: string; references: string[] }>;
      variables: Array<{ variable: string; template?: boolean }>;
    };
    assert.deepEqual(report.templates, [
      {
        variable: 'DATABASE_URL',
        references: ['vault:database/creds/app#username', 'vault:database/creds/app#password'],
      },
    ]);
    assert.deepEqual(
      report.variables.map((v) => [v.variable, v.template ?? false]),
      [
        ['KV', false],
        ['DATABASE_URL', true],
        ['DATABASE_URL', true],
      ],
    );
    assert.deepEqual(findCanaries(bed.canaries, r.stdout, r.stderr, j.stdout, j.stderr), []);
  });
});
