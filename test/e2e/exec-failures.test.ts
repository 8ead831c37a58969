import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { type Bed, canary, FIXTURES, NODE, runSecrun, startBed } from '../helpers/cli.ts';

// A failed process.execve aborts Node (134, maybe a core file holding the token) or, for a NUL,
// throws a TypeError that prints the environment. None of that may happen, whatever the input.
let bed: Bed;
let dir: string;
const NUL_VALUE = `${canary('nul')}\u0000${canary('after-nul')}`;
const BIG_VALUE = `${canary('big')}${'x'.repeat(200_000)}`;

async function writeKv(path: string, data: Record<string, string>): Promise<void> {
  const res = await fetch(`${bed.vault.url}/v1/secret/data/${path}`, {
    method: 'POST',
    headers: { 'x-vault-token': bed.canaries.token, 'content-type': 'application/json' },
    body: JSON.stringify({ data }),
  });
  assert.equal(res.status, 200);
}

function script(name: string, content: string): string {
  const file = join(dir, name);
  writeFileSync(file, content);
  chmodSync(file, 0o755);
  return file;
}

before(async () => {
  bed = await startBed();
  dir = mkdtempSync(join(tmpdir(), 'secrun-exec-failures-'));
  await writeKv('bad/nul', { password: NUL_VALUE });
  await writeKv('bad/big', { cert: BIG_VALUE });
});
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await bed.close();
});
beforeEach(() => bed.vault.log.clear());

const printEnv = [NODE, `${FIXTURES}print-env.mjs`];
const secretsIn = (text: string) =>
  [NUL_VALUE, BIG_VALUE.slice(0, 40), String(bed.canaries.token), NUL_VALUE.split('\u0000')[0] ?? ''].filter(
    (s) => text.includes(s),
  );

describe('exec handover failures', () => {
  for (const mode of ['exec', 'supervise']) {
    test(`when a value holds a NUL byte (${mode}) then 65 names the variable, prints no value and revokes the lease`, async () => {
      const r = await runSecrun(['run', '--mode', mode, '--', ...printEnv], {
        ...bed.env,
        DB_PASSWORD: 'vault:secret/bad/nul#password',
        DB_USER: 'vault:database/creds/app#username',
      });
      assert.equal(r.code, 65, r.stderr);
      assert.match(r.stderr, /DB_PASSWORD: its value \(at character \d+\) contains a NUL byte/);
      assert.deepEqual(secretsIn(r.stderr + r.stdout), []);
      assert.doesNotMatch(r.stderr, /internal error|TypeError/);
      assert.equal(
        bed.vault.log.filter({ path: '/v1/sys/leases/revoke' }).length,
        1,
        'the minted lease is revoked',
      );
    });
  }

  test('when one value is over 128 KiB then 65 names it and its size instead of an abort (134)', async () => {
    const r = await runSecrun(['run', '--mode', 'exec', '--', ...printEnv], {
      ...bed.env,
      TLS_CERT: 'vault:secret/bad/big#cert',
    });
    assert.equal(r.code, 65, r.stderr);
    assert.equal(r.signal, null);
    assert.match(
      r.stderr,
      /TLS_CERT: NAME=value is 200,0\d\d bytes; Linux allows at most 131,071 per variable/,
    );
    assert.deepEqual(secretsIn(r.stderr + r.stdout), []);
  });

  test('when the #! interpreter is missing then 127 comes before any request', async () => {
    const bad = script('bad-interp', '#!/nonexistent/python3\nprint("never")\n');
    const r = await runSecrun(['run', '--mode', 'exec', '--', bad], {
      ...bed.env,
      DB_PASSWORD: 'vault:secret/app/db#password',
    });
    assert.equal(r.code, 127, r.stderr);
    assert.match(r.stderr, /bad interpreter: \/nonexistent\/python3 is missing/);
    assert.equal(bed.vault.log.entries.length, 0, 'no request was sent');
  });

  test('when #!/usr/bin/env names a runtime missing from PATH then 127 comes before any request', async () => {
    const bad = script('bad-env', '#!/usr/bin/env secrun-missing-runtime\n');
    const r = await runSecrun(['run', '--', bad], {
      ...bed.env,
      DB_PASSWORD: 'vault:secret/app/db#password',
    });
    assert.equal(r.code, 127, r.stderr);
    assert.match(r.stderr, /secrun-missing-runtime \(from the #! line of .*bad-env\) is not found/);
    assert.equal(bed.vault.log.entries.length, 0);
  });

  for (const mode of ['exec', 'supervise']) {
    test(`when an executable text file has no #! line (${mode}) then /bin/sh runs it, as a shell would`, async () => {
      const plain = script(
        'no-shebang',
        'n=$(printf %s "$DB_PASSWORD" | wc -c); echo "sh ran me with $1 and $n chars"\nexit 7\n',
      );
      const r = await runSecrun(['run', '--mode', mode, '--', plain, 'arg1'], {
        ...bed.env,
        DB_PASSWORD: 'vault:secret/app/db#password',
      });
      assert.equal(r.code, 7, r.stderr);
      assert.match(
        r.stdout,
        new RegExp(`sh ran me with arg1 and ${String(bed.canaries.dbPassword).length} chars`),
      );
    });
  }

  test('when a binary file for no known format is executable then 126 says so before any request', async () => {
    const junk = join(dir, 'junk');
    writeFileSync(junk, Buffer.from([0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 2, 0x0a]));
    chmodSync(junk, 0o755);
    const r = await runSecrun(['run', '--mode', 'exec', '--', junk], {
      ...bed.env,
      DB_PASSWORD: 'vault:secret/app/db#password',
    });
    assert.equal(r.code, 126, r.stderr);
    assert.match(r.stderr, /cannot execute binary file/);
    assert.equal(bed.vault.log.entries.length, 0);
  });

  test('when secrun check sees a value no child could receive then it reports it (65)', async () => {
    const r = await runSecrun(['check'], { ...bed.env, DB_PASSWORD: 'vault:secret/bad/nul#password' });
    assert.equal(r.code, 65, r.stderr);
    assert.match(r.stderr, /DB_PASSWORD: its value \(at character \d+\) contains a NUL byte/);
    assert.deepEqual(secretsIn(r.stderr + r.stdout), []);
  });
});
