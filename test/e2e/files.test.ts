import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Bed, FIXTURES, findCanaries, NODE, runSecrun, startBed } from '../helpers/cli.ts';
import { type OpensslDir, opensslDir } from '../helpers/openssl.ts';
import { rawRequest } from '../helpers/vault-target.ts';

let bed: Bed;
let ssl: OpensslDir;
let cert: string;
before(async () => {
  bed = await startBed();
  ssl = opensslDir('secrun-files-');
  cert = ssl.selfSigned('svc', 'payments.internal').cert;
  const r = await rawRequest(bed.vault.url, 'POST', '/v1/secret/data/app/tls', {
    token: bed.canaries['token'] ?? '',
    body: { data: { cert } },
  });
  assert.equal(r.status, 200, r.text);
});
after(async () => {
  ssl.remove();
  await bed.close();
});

const readFiles = (names: string) => [NODE, `${FIXTURES}read-files.mjs`, names];
const reports = (stdout: string) =>
  stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map(
      (l) => JSON.parse(l) as { name: string; path: string; head: string; length: number; second: number },
    );

describe('secrun run --file', () => {
  test('when --file and the config files: name secrets then the child reads each from /dev/fd/N, once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'secrun-files-'));
    try {
      writeFileSync(
        join(dir, 'secrun.yaml'),
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a secrun template
        'files:\n  CREDS_JSON: \'{"user":"${vault:secret/app/db#username}","password":"${vault:secret/app/db#password | json}"}\'\n',
      );
      const r = await runSecrun(
        [
          'run',
          '--file',
          'API_KEY_FILE=vault:secret/app/api#key',
          '--',
          ...readFiles('CREDS_JSON,API_KEY_FILE'),
        ],
        bed.env,
        { cwd: dir },
      );
      assert.equal(r.code, 0, r.stderr);
      const [creds, api] = reports(r.stdout);
      assert.equal(creds?.path, '/dev/fd/3', 'config files come first');
      assert.deepEqual(JSON.parse(creds?.head ?? ''), { user: 'app', password: bed.canaries['dbPassword'] });
      assert.equal(api?.path, '/dev/fd/4');
      assert.equal(api?.head, bed.canaries['apiKey']);
      assert.equal(api?.second, 0, 'a pipe is read once: the second read is empty');
      assert.deepEqual(findCanaries(bed.canaries, r.stderr), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('when openssl reads a certificate from the --file path then it prints the subject', async () => {
    const r = await runSecrun(
      [
        'run',
        '--file',
        'TLS_CERT=vault:secret/app/tls#cert',
        '--',
        'sh',
        '-c',
        'exec openssl x509 -in "$TLS_CERT" -noout -subject',
      ],
      bed.env,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /subject=CN\s*=\s*payments\.internal/);
  });

  test('when --file is combined with --mode exec then it is a usage error (64) before any secret is read', async () => {
    bed.vault.log.clear();
    const r = await runSecrun(
      ['run', '--mode', 'exec', '--file', 'K=vault:secret/app/api#key', '--', NODE, '-e', '0'],
      bed.env,
    );
    assert.equal(r.code, 64, r.stderr);
    assert.match(r.stderr, /--file needs supervise mode/);
    assert.equal(bed.vault.log.entries.length, 0, 'nothing was read');
  });

  test('when --file is not NAME=REF or names a variable also set by --env then the error says so', async () => {
    const bad = await runSecrun(['run', '--file', 'no-equals-sign', '--', NODE, '-e', '0'], bed.env);
    assert.equal(bad.code, 64, bad.stderr);
    assert.match(bad.stderr, /--file.*expected NAME=REF/);
    const both = await runSecrun(
      [
        'run',
        '--env',
        'K=vault:secret/app/api#key',
        '--file',
        'K=vault:secret/app/api#key',
        '--',
        NODE,
        '-e',
        '0',
      ],
      bed.env,
    );
    assert.equal(both.code, 64, both.stderr);
    assert.match(both.stderr, /K is given both as a variable .* and as a file/);
  });
});
