// `secrun check`'s hygiene review end to end in this process (runCli against the dev servers):
// what it prints and the exit code, for what the pure review (hygiene.test.ts) decides.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type SecretsManagerDevServer, startSecretsManagerServer } from '../../src/dev/aws/server.ts';
import { parseSeed } from '../../src/dev/seed.ts';
import { startVaultServer, type VaultDevServer } from '../../src/dev/vault/server.ts';
import { devServerEnv } from '../helpers/cli.ts';
import { opensslDir } from '../helpers/openssl.ts';
import { runCliInProcess } from '../helpers/run-cli.ts';
import { rawRequest } from '../helpers/vault-target.ts';

interface Report {
  ok: boolean;
  hygiene: {
    secrets: Array<{ path: string; variables: string[] }>;
    certificates: Array<{ variable: string; subject: string; reissued?: boolean }>;
    findings: Array<{ kind: string; message: string; variables: string[] }>;
  };
}

describe('secrun check in process: the hygiene review', () => {
  const token = 'hvs.check-hygiene-root-token';
  const ssl = opensslDir('secrun-check-hygiene-');
  const shortCert = ssl.selfSigned('short', 'short.example.com', '2').cert;
  const longCert = ssl.selfSigned('ca', 'long.example.com', '365').cert;
  const expiredCert = ssl.expired('old', 'old.example.com', 'ca', '2002', 'basicConstraints=CA:FALSE\n').cert;
  // The servers' clock runs `offset` ms off: a secret written at -390 s is 6m30s old.
  let offset = 0;
  const now = () => Date.now() + offset;
  let vault: VaultDevServer;
  let aws: SecretsManagerDevServer;
  let env: Record<string, string>;

  before(async () => {
    const seed = parseSeed(
      `vault:
  root_token: ${token}
  mounts:
    pki:
      type: pki
      common_name: short-lived CA
      ttl: 120h
      roles:
        web: { allowed_domains: [example.com], allow_subdomains: true, key_type: ec, ttl: 24h, max_ttl: 72h }
aws:
  region: eu-west-1
  account_id: "111122223333"
  credentials:
    - { access_key_id: AKIATESTCHECKHYG0001, secret_access_key: test-check-hygiene-secret-key-01 }
  secrets:
    prod/tls: ${JSON.stringify({ tls: { cert: shortCert, host: 'short.example.com' }, user: 'u' })}
`,
      'check-hygiene-seed',
    );
    vault = await startVaultServer({ seed, now });
    aws = await startSecretsManagerServer({ seed, now });
    const put = async (path: string, data: Record<string, string>) => {
      const r = await rawRequest(vault.url, 'POST', `/v1/secret/data/${path}`, { token, body: { data } });
      assert.equal(r.status, 200, r.text);
    };
    offset = -390_000;
    await put('app/db', { user: 'app' });
    offset = 0;
    await put('app/tls', { cert: shortCert, long: longCert, old: expiredCert });
    await put('app/json', { escaped: JSON.stringify(shortCert) });
    env = { ...devServerEnv(vault, aws), VAULT_TOKEN: token };
  });
  after(async () => {
    ssl.remove();
    await Promise.all([vault?.close(), aws?.close()]);
  });

  const check = async (args: string[]) => {
    const r = await runCliInProcess(['check', ...args], env);
    assert.doesNotMatch(
      `${r.stdout}${r.stderr}`,
      /BEGIN CERTIFICATE|MII/,
      'no certificate text in any output',
    );
    return r;
  };

  test('when an issued certificate comes with a short-lived CA then --min-validity flags the CA and the chain, not the leaf', async () => {
    const issue = 'vault:pki/issue/web?common_name=s.example.com';
    const r = await check([
      '--min-validity',
      '14d',
      '--env',
      `CERT=${issue}#certificate`,
      '--env',
      `CA=${issue}#issuing_ca`,
      '--env',
      `CH=${issue}#ca_chain`,
    ]);
    assert.equal(r.code, 79, r.stderr);
    assert.match(
      r.stdout,
      /^ {2}CERT: CN=s\.example\.com, expires \S+ \(\d+h left\), issued again before expiry$/m,
    );
    assert.match(r.stdout, /^ {2}CA: CN=short-lived CA, expires \S+ \(4d23h left\)$/m);
    assert.match(
      r.stdout,
      /^FINDING min-validity: the certificate "CN=short-lived CA" in CA expires in 4d23h \(--min-validity 14d\); renew it$/m,
    );
    assert.match(r.stdout, /^FINDING min-validity: the certificate "CN=short-lived CA" in CH /m);
    assert.doesNotMatch(r.stdout, /FINDING.* in CERT /);
    assert.match(r.stderr, /2 hygiene findings; exiting 79/);
  });

  test('when a certificate is in a template placeholder then text and JSON name the variable', async () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: secrun template syntax, not JS
    const tpl = ['--min-validity', '14d', '--env', 'T=a${vault:secret/app/tls#cert}'];
    const text = await check(tpl);
    assert.equal(text.code, 79, text.stderr);
    assert.match(text.stdout, /^ {2}T: CN=short\.example\.com/m);
    assert.match(
      text.stdout,
      /^FINDING min-validity: the certificate "CN=short\.example\.com" in T expires/m,
    );
    assert.doesNotMatch(text.stdout, /T=\d/);
    const json = await check([...tpl, '--json']);
    const data = JSON.parse(json.stdout) as Report;
    assert.deepEqual(
      data.hygiene.secrets.map((s) => s.variables),
      [['T']],
    );
    assert.deepEqual(
      data.hygiene.certificates.map((c) => c.variable),
      ['T'],
    );
    assert.deepEqual(
      data.hygiene.findings.map((f) => f.variables),
      [['T']],
    );
  });

  test('when --max-age is under a minute then it is shown in seconds, and the table and the finding show one age', async () => {
    const r = await check(['--max-age', '30s', '--env', 'P=vault:secret/app/db#user']);
    assert.equal(r.code, 79, r.stderr);
    const finding =
      /FINDING max-age: vault:secret\/app\/db last changed (\S+) ago \(--max-age 30s\); rotate it/.exec(
        r.stdout,
      );
    const row = /^P +vault:secret\/app\/db#user .* (\S+)$/m.exec(r.stdout);
    assert.ok(finding && row, r.stdout);
    assert.match(finding[1] ?? '', /^[6-9]m\d+s$/, 'seconds under 10 minutes');
    assert.equal(row[1], finding[1], 'the AGE column and the finding');
  });

  test('when a value holds an expired certificate then check fails without thresholds and warns on stderr', async () => {
    const r = await check([
      '--json',
      '--env',
      'OLD=vault:secret/app/tls#old',
      '--env',
      'OK=vault:secret/app/tls#long',
    ]);
    assert.equal(r.code, 79, r.stderr);
    const data = JSON.parse(r.stdout) as Report;
    assert.equal(data.ok, false);
    assert.deepEqual(
      data.hygiene.findings.map((f) => `${f.kind}:${f.variables.join()}`),
      ['expired:OLD'],
    );
    assert.match(r.stderr, /the certificate "CN=old\.example\.com" in OLD expired \d+d ago/);
    assert.match(r.stderr, /1 hygiene finding; exiting 79/);
  });

  test('when a certificate is inside a JSON value then it is found: a nested object field of a JSON secret, a JSON-escaped string', async () => {
    const r = await check([
      '--json',
      '--min-validity',
      '14d',
      '--env',
      'NESTED=awssm:prod/tls#tls',
      '--env',
      'ESCAPED=vault:secret/app/json#escaped',
    ]);
    assert.equal(r.code, 79, r.stderr);
    const data = JSON.parse(r.stdout) as Report;
    assert.deepEqual(data.hygiene.certificates.map((c) => `${c.variable}:${c.subject}`).sort(), [
      'ESCAPED:CN=short.example.com',
      'NESTED:CN=short.example.com',
    ]);
    assert.deepEqual(data.hygiene.findings.map((f) => f.variables.join()).sort(), ['ESCAPED', 'NESTED']);
  });
});
