import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Bed, NODE, runSecrun, startBed } from '../helpers/cli.ts';

let bed: Bed;
before(async () => {
  bed = await startBed();
});
after(async () => {
  await bed.close();
});

// The child lacks VAULT_TOKEN, but as the same user it can read the agent's initial environment.
const readParentEnviron = [
  NODE,
  '-e',
  "const e=require('fs').readFileSync('/proc/'+process.ppid+'/environ','utf8');" +
    "console.log('own:'+(process.env.VAULT_TOKEN===undefined?'absent':'present'));" +
    "console.log('parent:'+(e.includes('VAULT_TOKEN=')?'present':'absent'))",
];

test('when supervise mode runs with VAULT_TOKEN in its own environment then it warns that /proc/<pid>/environ shows it', async () => {
  const r = await runSecrun(['run', '--mode', 'supervise', '--', ...readParentEnviron], {
    ...bed.env,
    DB_PASSWORD: 'vault:secret/app/db#password',
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /supervise mode: VAULT_TOKEN, AWS_SECRET_ACCESS_KEY are in secrun's own environment/,
  );
  assert.match(r.stderr, /\/proc\/\d+\/environ/);
  assert.ok(!r.stderr.includes(String(bed.canaries.token)));
  // What the warning says is true: the child's own environment lacks it, the parent's shows it.
  assert.match(r.stdout, /own:absent/);
  assert.match(r.stdout, /parent:present/);
});

test('when exec mode replaces secrun then there is no parent environment to warn about', async () => {
  const r = await runSecrun(['run', '--mode', 'exec', '--', NODE, '-e', ''], {
    ...bed.env,
    DB_PASSWORD: 'vault:secret/app/db#password',
  });
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /in secrun's own environment/);
});
