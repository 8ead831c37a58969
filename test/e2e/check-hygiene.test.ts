import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type SecretsManagerDevServer, startSecretsManagerServer } from '../../src/dev/aws/server.ts';
import { parseSeed } from '../../src/dev/seed.ts';
import { startVaultServer, type VaultDevServer } from '../../src/dev/vault/server.ts';
import { canary, devServerEnv, findCanaries, runSecrun } from '../helpers/cli.ts';
import { opensslDir } from '../helpers/openssl.ts';
import { pkiSeedYaml } from '../helpers/pki.ts';
import { rawRequest } from '../helpers/vault-target.ts';

const DAY = 86_400_000;

interface Hygiene {
  secrets: Array<{
    path: string;
    ageSeconds?: number;
    updatedAt?: string;
    createdAt?: string;
    noAge?: string;
  }>;
  certificates: Array<{ variable: string; subject: string; secondsLeft: number; reissued?: boolean }>;
  findings: Array<{ kind: string; message: string; variables: string[] }>;
  maxAgeSeconds?: number;
  minValiditySeconds?: number;
}

describe('secrun check: the hygiene review', () => {
  // The servers' clock starts 120 days back, so what the seed writes is 120 days old.
  let offset = -120 * DAY;
  const now = () => Date.now() + offset;
  const c = {
    old: canary('old'),
    stripe: canary('stripe'),
    token: `hvs.${canary('tok')}`,
    fresh: canary('fresh'),
  };
  let vault: VaultDevServer;
  let aws: SecretsManagerDevServer;
  let env: Record<string, string>;
  const ssl = opensslDir('secrun-hygiene-');
  const shortCert = ssl.selfSigned('short', 'short.example.com', '2').cert;
  const longCert = ssl.selfSigned('long', 'long.example.com', '365').cert;

  before(async () => {
    const seed = parseSeed(
      `${pkiSeedYaml()}
  root_token: ${c.token}
  kv:
    secret/old: { password: ${c.old} }
aws:
  region: eu-west-1
  account_id: "111122223333"
  credentials:
    - { access_key_id: AKIATESTHYGIENE00001, secret_access_key: test-hygiene-secret-key-00000001 }
  secrets:
    prod/stripe: { api_key: ${c.stripe} }
`,
      'hygiene-seed',
    );
    vault = await startVaultServer({ seed, now });
    aws = await startSecretsManagerServer({ seed, now });
    offset = 0;
    const put = async (path: string, data: Record<string, string>) => {
      const r = await rawRequest(vault.url, 'POST', `/v1/secret/data/${path}`, {
        token: c.token,
        body: { data },
      });
      assert.equal(r.status, 200, r.text);
    };
    await put('fresh', { password: c.fresh });
    await put('tls/short', { cert: shortCert, key: 'not-checked' });
    await put('tls/long', { bundle: `${longCert}\n${shortCert}` });
    env = { ...devServerEnv(vault, aws), VAULT_TOKEN: c.token };
  });
  after(async () => {
    ssl.remove();
    await Promise.all([vault?.close(), aws?.close()]);
  });

  const check = async (args: string[], refs: Record<string, string>) => {
    const r = await runSecrun(['check', ...args], { ...env, ...refs });
    assert.deepEqual(findCanaries(c, r.stdout, r.stderr), [], 'no value in any output');
    return r;
  };
  const json = (stdout: string): { ok: boolean; hygiene: Hygiene } => JSON.parse(stdout);

  test('when a KV v2 secret last changed longer ago than --max-age then check fails with 79 and names it', async () => {
    const r = await check(['--max-age', '90d'], {
      OLD: 'vault:secret/old#password',
      FRESH: 'vault:secret/fresh#password',
    });
    assert.equal(r.code, 79, r.stderr);
    assert.match(r.stdout, /FINDING max-age: vault:secret\/old last changed 1[12]\dd ago \(--max-age 90d\)/);
    assert.doesNotMatch(r.stdout, /vault:secret\/fresh last changed/);
    assert.match(r.stderr, /1 hygiene finding/);
  });

  test('when the secrets are younger than --max-age then check passes, and --json carries every date', async () => {
    const r = await check(['--max-age', '200d', '--json'], { OLD: 'vault:secret/old#password' });
    assert.equal(r.code, 0, r.stderr);
    const data = json(r.stdout);
    assert.equal(data.ok, true);
    const old = data.hygiene.secrets.find((s) => s.path === 'secret/old');
    assert.ok(old?.updatedAt && old.createdAt, 'KV v2 metadata dates');
    assert.ok(Math.abs((old.ageSeconds ?? 0) - 120 * 86_400) < 3600, `age ${old.ageSeconds}`);
    assert.equal(data.hygiene.maxAgeSeconds, 200 * 86_400);
    assert.deepEqual(data.hygiene.findings, []);
  });

  test('when a Secrets Manager secret last changed longer ago than --max-age then check fails (DescribeSecret dates)', async () => {
    const r = await check(['--max-age', '90d', '--json'], { STRIPE: 'awssm:prod/stripe#api_key' });
    assert.equal(r.code, 79, r.stderr);
    const data = json(r.stdout);
    assert.equal(data.ok, false);
    const row = data.hygiene.secrets[0];
    assert.ok(row?.updatedAt, 'LastChangedDate');
    assert.equal(data.hygiene.findings[0]?.kind, 'max-age');
    assert.deepEqual(data.hygiene.findings[0]?.variables, ['STRIPE']);
  });

  test('when a certificate in a value expires sooner than --min-validity then check fails with 79; every PEM block of a value is read', async () => {
    const r = await check(['--min-validity', '14d', '--json'], {
      TLS_CERT: 'vault:secret/tls/short#cert',
      BUNDLE: 'vault:secret/tls/long#bundle',
    });
    assert.equal(r.code, 79, r.stderr);
    const data = json(r.stdout);
    const subjects = data.hygiene.certificates.map((x) => `${x.variable}:${x.subject}`).sort();
    assert.deepEqual(subjects, [
      'BUNDLE:CN=long.example.com',
      'BUNDLE:CN=short.example.com',
      'TLS_CERT:CN=short.example.com',
    ]);
    const short = data.hygiene.certificates.find((x) => x.variable === 'TLS_CERT');
    assert.ok(short && short.secondsLeft > 86_400 && short.secondsLeft <= 2 * 86_400);
    assert.deepEqual(data.hygiene.findings.map((f) => f.variables[0]).sort(), ['BUNDLE', 'TLS_CERT']);
    assert.match(data.hygiene.findings[0]?.message ?? '', /expires in \d+h \(--min-validity 14d\)/);
  });

  test('when every certificate outlives --min-validity then check passes and still lists them', async () => {
    const r = await check(['--min-validity', '1d'], { TLS_CERT: 'vault:secret/tls/short#cert' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /certificates in values:\n {2}TLS_CERT: CN=short\.example\.com, expires \S+ \(\d+h left\)/,
    );
  });

  test('when a certificate is issued at boot then its short life is no finding (it is issued again) and check hands back nothing it keeps', async () => {
    const r = await check(['--min-validity', '14d', '--json'], {
      CERT: 'vault:pki/sign/web?common_name=api.example.com&ttl=1h#certificate',
    });
    assert.equal(r.code, 0, r.stderr);
    const data = json(r.stdout);
    assert.equal(data.hygiene.certificates[0]?.reissued, true);
    assert.equal(data.hygiene.secrets[0]?.noAge, 'issued');
  });

  test('when --max-age is not a duration then it is a usage error naming what is accepted', async () => {
    const r = await check(['--max-age', '90x'], { OLD: 'vault:secret/old#password' });
    assert.equal(r.code, 64);
    assert.match(r.stderr, /max-age/);
  });
});
