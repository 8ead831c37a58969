import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { collectOutput } from '../helpers/child-output.ts';
import {
  type Bed,
  FIXTURES,
  findCanaries,
  NODE,
  runSecrun,
  secrunCommand,
  startBed,
} from '../helpers/cli.ts';
import { until } from '../helpers/poll.ts';
import { rawRequest } from '../helpers/vault-target.ts';

let bed: Bed;
let dir: string;
before(async () => {
  bed = await startBed();
  dir = mkdtempSync(join(tmpdir(), 'secrun-write-'));
});
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await bed.close();
});
beforeEach(() => bed.vault.log.clear());

/** A config file in the test's directory; returns its path. */
function config(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

const STS = '/v1/aws/sts/deploy';
const WRITE_ENTRIES = `env:
  DEPLOY_KEY:
    ref: vault:aws/sts/deploy#access_key
    write: true
    params: { ttl: 15m, role_session_name: ci }
  DEPLOY_SECRET:
    ref: vault:aws/sts/deploy#secret_key
    write: true
    params: { ttl: 15m, role_session_name: ci }
`;

interface Row {
  variable: string;
  ref: string;
  write?: boolean;
  file?: string;
  leaseId?: string;
  leaseTtl?: number;
  renewable?: boolean;
}

describe('config write: true (a Vault path fetched by a write)', () => {
  test('when check meets two entries of one write then it writes once with the params, lists it as a write and revokes its lease', async () => {
    const file = config('check.yaml', WRITE_ENTRIES);
    const r = await runSecrun(['check', '--json', '--config', file], bed.env);
    assert.equal(r.code, 0, r.stderr);
    const data = JSON.parse(r.stdout) as { variables: Row[]; documents: number };
    const key = data.variables.find((v) => v.variable === 'DEPLOY_KEY');
    const secret = data.variables.find((v) => v.variable === 'DEPLOY_SECRET');
    assert.equal(key?.write, true);
    assert.equal(secret?.write, true);
    assert.equal(key?.leaseTtl, 900, 'the ttl parameter was sent');
    assert.equal(key?.renewable, false);
    assert.equal(key?.leaseId, secret?.leaseId, 'both fields come from one write');
    assert.equal(data.documents, 1);
    assert.deepEqual(
      bed.vault.log.filter({ path: STS }).map((e) => e.method),
      ['POST'],
      'one write, no read',
    );
    const lookup = await rawRequest(bed.vault.url, 'POST', '/v1/sys/leases/lookup', {
      token: bed.canaries['token'] ?? '',
      body: { lease_id: key?.leaseId },
    });
    assert.equal(lookup.status, 400, 'check handed the lease back');

    const text = await runSecrun(['check', '--config', file], bed.env);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^DEPLOY_KEY\s+vault:aws\/sts\/deploy#access_key \(write\)/m);
    assert.match(text.stdout, /DEPLOY_KEY, DEPLOY_SECRET come from a write \(config write: true\)/);
  });

  test('when a variable holds the same path then it is read, never written; with parameters it is refused (65)', async () => {
    const read = await runSecrun(['check', '--json'], {
      ...bed.env,
      DEPLOY_KEY: 'vault:aws/sts/deploy#access_key',
    });
    assert.equal(read.code, 0, read.stderr);
    assert.equal((JSON.parse(read.stdout) as { variables: Row[] }).variables[0]?.write, undefined);
    assert.deepEqual(
      bed.vault.log.filter({ path: STS }).map((e) => e.method),
      ['GET'],
    );
    bed.vault.log.clear();
    const refused = await runSecrun(['check'], {
      ...bed.env,
      DEPLOY_KEY: 'vault:aws/sts/deploy?ttl=15m#access_key',
    });
    assert.equal(refused.code, 65, refused.stderr);
    assert.match(refused.stderr, /read, never written/);
    assert.equal(bed.vault.log.filter({ path: STS }).length, 0);
  });

  test('when params come without write: true, or write: true names a template, then the config is invalid (78)', async () => {
    const noWrite = config(
      'no-write.yaml',
      'env:\n  K:\n    ref: vault:aws/sts/deploy#access_key\n    params: { ttl: 15m }\n',
    );
    const a = await runSecrun(['check', '--config', noWrite], bed.env);
    assert.equal(a.code, 78, a.stderr);
    assert.match(a.stderr, /no-write\.yaml:4: env\.K\.params: params are sent only by a write/);
    const template = config(
      'template.yaml',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a secrun template
      "env:\n  K:\n    ref: 'key=${vault:aws/sts/deploy#access_key}'\n    write: true\n",
    );
    const b = await runSecrun(['check', '--config', template], bed.env);
    assert.equal(b.code, 78, b.stderr);
    assert.match(b.stderr, /env\.K\.ref: write: true needs one vault: reference/);
    assert.equal(bed.vault.log.filter({ method: 'POST', path: /^\/v1\/aws\// }).length, 0);
  });

  test('when write: true names a KV secret then nothing is written (65)', async () => {
    const kv = config(
      'kv.yaml',
      'env:\n  K:\n    ref: vault:secret/app/api#key\n    write: true\n    params: { key: x }\n',
    );
    const r = await runSecrun(['check', '--config', kv], bed.env);
    assert.equal(r.code, 65, r.stderr);
    assert.match(
      r.stderr,
      /write: true on secret\/app\/api: a write to this kv mount would change what Vault stores/,
    );
    assert.equal(bed.vault.log.filter({ method: 'POST', path: /^\/v1\/secret\// }).length, 0);
  });

  test('when run supervises a write with a short lease then it writes again before the lease ends, restarts the child, never polls it, audits writes and revokes every lease', async () => {
    const file = config(
      'run.yaml',
      'env:\n  DEPLOY_KEY:\n    ref: vault:aws/sts/deploy#access_key\n    write: true\n    params: { ttl: 4s }\n',
    );
    const child: ChildProcessWithoutNullStreams = spawn(
      ...secrunCommand([
        'run',
        '--config',
        file,
        '--watch',
        '200ms',
        '--audit',
        'stderr',
        '--',
        NODE,
        `${FIXTURES}print-env-on-start.mjs`,
        'DEPLOY_KEY',
      ]),
      { env: bed.env, stdio: 'pipe' },
    );
    const out = collectOutput(child);
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const starts = () =>
      out
        .stdout()
        .split('\n')
        .filter((l) => l.includes('"event":"start"'))
        .map((l) => (JSON.parse(l) as { env: { DEPLOY_KEY: string } }).env.DEPLOY_KEY);
    try {
      await until(
        () => `a restart with new credentials\nstdout: ${out.stdout()}\nstderr: ${out.stderr()}`,
        () => starts().length >= 2,
      );
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, out.stderr());
    const [first, second] = starts();
    assert.match(first ?? '', /^ASIA/);
    assert.notEqual(first, second, 'the second start got the credentials of a new write');
    const methods = bed.vault.log.filter({ path: STS }).map((e) => e.method);
    assert.ok(
      methods.length >= 2 && methods.every((m) => m === 'POST'),
      `writes only: ${methods.join(', ')}`,
    );
    const events = out
      .stderr()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { event: string; write?: boolean; params?: string[]; leaseId?: string });
    const write = events.find((e) => e.event === 'secret.write');
    assert.equal(write?.write, true);
    assert.deepEqual(write?.params, ['ttl']);
    assert.equal(events.filter((e) => e.event === 'secret.read').length, 0);
    const revoked = events.filter((e) => e.event === 'lease.revoke').map((e) => e.leaseId);
    assert.ok(revoked.length >= 2, `the old and the last lease are revoked: ${revoked.join(', ')}`);
    assert.deepEqual(findCanaries(bed.canaries, out.stderr()), []);
  });
});

describe('secrun check: in-memory files', () => {
  test('when config files: and --file name secrets then check shows each as /dev/fd/N, in text and JSON', async () => {
    const file = config('files.yaml', 'files:\n  CREDS_FILE: vault:secret/app/db#password\n');
    const json = await runSecrun(
      ['check', '--json', '--config', file, '--file', 'API_KEY_FILE=vault:secret/app/api#key'],
      bed.env,
    );
    assert.equal(json.code, 0, json.stderr);
    const data = JSON.parse(json.stdout) as {
      variables: Row[];
      files: Array<{ variable: string; path: string }>;
    };
    assert.deepEqual(data.files, [
      { variable: 'CREDS_FILE', path: '/dev/fd/3' },
      { variable: 'API_KEY_FILE', path: '/dev/fd/4' },
    ]);
    assert.equal(data.variables.find((v) => v.variable === 'API_KEY_FILE')?.file, '/dev/fd/4');
    const text = await runSecrun(['check', '--config', file], bed.env);
    assert.equal(text.code, 0, text.stderr);
    assert.match(
      text.stdout,
      /CREDS_FILE is given to the command as an in-memory file, CREDS_FILE=\/dev\/fd\/3 \(a pipe, read once\), not as a value/,
    );
    assert.deepEqual(findCanaries(bed.canaries, text.stdout + json.stdout), []);
  });
});
