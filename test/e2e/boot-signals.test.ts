import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, beforeEach, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { type SecretsManagerDevServer, startSecretsManagerServer } from '../../src/dev/aws/server.ts';
import { parseSeed } from '../../src/dev/seed.ts';
import { startVaultServer, type VaultDevServer } from '../../src/dev/vault/server.ts';
import { collectOutput } from '../helpers/child-output.ts';
import { canary, devServerEnv, FIXTURES, NODE, ROOT, secrunCommand } from '../helpers/cli.ts';
import { until } from '../helpers/poll.ts';
import { type TempFiles, tempFiles } from '../helpers/tls-certs.ts';

// The orchestrator is obeyed during boot: a stop signal while secrets are being read aborts the
// reads, revokes the dynamic credential and the login token already minted, starts nothing, and
// exits 128+n, also as PID 1 (where the kernel drops signals that have no listener).

const C = {
  root: `hvs.${canary('root')}`,
  roleId: canary('role-id'),
  secretId: canary('secret-id'),
  slow: canary('slow'),
  kv: canary('kv'),
};
let vault: VaultDevServer;
let aws: SecretsManagerDevServer;
let tmp: TempFiles;
let config: string;
/** No dynamic credential: the last request before the handover is the login token's revocation. */
let kvConfig: string;

before(async () => {
  tmp = tempFiles('secrun-e2e-signals-');
  vault = await startVaultServer({
    seed: parseSeed(
      stringify({
        vault: {
          root_token: C.root,
          mounts: {
            database: { type: 'database', roles: { app: { default_ttl: '1h', max_ttl: '2h' } } },
            secret: { type: 'kv', version: 2 },
          },
          kv: { 'secret/app': { api_key: C.kv } },
          policies: {
            app: [
              { path: 'database/creds/app', capabilities: ['read'] },
              { path: 'secret/data/app', capabilities: ['read'] },
              { path: 'sys/leases/revoke', capabilities: ['update'] },
            ],
          },
          auth: {
            approle: {
              type: 'approle',
              roles: { web: { role_id: C.roleId, secret_ids: [C.secretId], policies: ['app'] } },
            },
          },
        },
      }),
      'signals-vault',
    ),
  });
  aws = await startSecretsManagerServer({
    seed: parseSeed(
      stringify({
        aws: {
          region: 'eu-west-1',
          account_id: '111122223333',
          credentials: [
            {
              access_key_id: 'AKIATESTSIG000000001',
              secret_access_key: 'test-signals-secret-key-0000000001',
            },
          ],
          secrets: { 'prod/slow': C.slow },
        },
      }),
      'signals-aws',
    ),
  });
  // AppRole login, one Vault variable and the slow Secrets Manager one, exec mode.
  const approleConfig = (file: string, vaultVariable: Record<string, string>): string =>
    tmp.write(
      file,
      stringify({
        vault: { auth: { method: 'approle', role_id: C.roleId, secret_id_env: 'APP_SECRET_ID' } },
        env: { ...vaultVariable, SLOW: 'awssm:prod/slow' },
        mode: 'exec',
      }),
    );
  config = approleConfig('secrun.yaml', { DB_USER: 'vault:database/creds/app#username' });
  kvConfig = approleConfig('secrun-kv.yaml', { API_KEY: 'vault:secret/app#api_key' });
});

after(async () => {
  await Promise.all([vault?.close(), aws?.close()]);
  tmp?.cleanup();
});

beforeEach(() => {
  vault.log.clear();
  aws.faults.clear();
  // The Secrets Manager read hangs: the boot is still under way when the signal comes.
  aws.faults.set({ latencyMs: 120_000 });
});

const env = (): Record<string, string> => ({ ...devServerEnv(vault, aws), APP_SECRET_ID: C.secretId });

const trail = () => vault.log.entries.map((e) => `${e.method} ${e.path} ${e.status}`);

interface Started {
  child: ChildProcess;
  out: ReturnType<typeof collectOutput>;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function start(prefix: string[], configFile = config): Started {
  const [file, args] = secrunCommand(['run', '--config', configFile, '--', NODE, `${FIXTURES}print-env.mjs`]);
  const argv = [...prefix, file, ...args];
  const child = spawn(argv[0] ?? NODE, argv.slice(1), {
    env: env(),
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = collectOutput(child);
  const kill = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(kill);
      resolve({ code, signal });
    }),
  );
  return { child, out, done };
}

/** Waits until the lease and the token exist and the Secrets Manager read is in flight. */
async function untilMidBoot(s: Started): Promise<void> {
  await until(
    () =>
      `the boot to be half done (stderr: ${s.out.stderr()}, vault: ${trail().join(', ')}, aws: ${JSON.stringify(aws.faults.stats)})`,
    () => trail().includes('GET /v1/database/creds/app 200') && aws.faults.stats.inFlight > 0,
  );
}

async function assertStoppedAndRevoked(s: Started, code: number, sig: string): Promise<void> {
  const r = await s.done;
  assert.equal(r.code, code, s.out.stderr());
  assert.equal(s.out.stdout(), '', 'the command never started');
  assert.match(s.out.stderr(), new RegExp(`stopped by ${sig} before the command started`));
  const t = trail();
  assert.ok(t.includes('PUT /v1/sys/leases/revoke 204'), t.join('\n'));
  assert.equal(t.at(-1), 'POST /v1/auth/token/revoke-self 204', t.join('\n'));
  await until('the Secrets Manager request to be aborted', () => aws.faults.stats.inFlight === 0, 10_000);
  for (const v of Object.values(C)) assert.ok(!s.out.stderr().includes(v), 'no secret in stderr');
}

describe('stop signals during boot', () => {
  for (const [sig, code] of [
    ['SIGTERM', 143],
    ['SIGINT', 130],
    ['SIGHUP', 129],
  ] as const) {
    test(`when ${sig} arrives mid-boot then reads are aborted, lease and token revoked, nothing started, exit ${code}`, async () => {
      const s = start([]);
      await untilMidBoot(s);
      s.child.kill(sig);
      await assertStoppedAndRevoked(s, code, sig);
    });
  }

  test('when SIGTERM arrives while the login token is revoked right before the handover then nothing starts, exit 143', async () => {
    // The Secrets Manager read holds the boot while the Vault gets slow; then the last request,
    // the token's revocation, hangs until the signal has come.
    aws.faults.set({ latencyMs: 4_000 });
    const s = start([], kvConfig);
    await until(
      () => `the Vault read and the Secrets Manager read in flight (vault: ${trail().join(', ')})`,
      () => trail().includes('GET /v1/secret/data/app 200') && aws.faults.stats.inFlight > 0,
    );
    vault.faults.set({ latencyMs: 6_000 });
    await until('the token revocation to be in flight', () => vault.faults.stats.inFlight > 0);
    s.child.kill('SIGTERM');
    const r = await s.done;
    vault.faults.clear();
    assert.equal(r.code, 143, s.out.stderr());
    assert.equal(s.out.stdout(), '', 'the command never started');
    assert.match(s.out.stderr(), /stopped by SIGTERM before the command started/);
    assert.ok(!s.out.stderr().includes(C.kv), 'no secret in stderr');
  });

  const canUnshare = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true']).status === 0;
  test('when secrun is PID 1 (unshare --pid) and SIGTERM arrives mid-boot then it is obeyed, not dropped', {
    skip: canUnshare ? false : 'unshare --pid --fork --mount-proc is not permitted here',
  }, async () => {
    const s = start(['unshare', '--pid', '--fork', '--mount-proc']);
    await untilMidBoot(s);
    // The agent is unshare's child, PID 1 in its namespace: signal it directly.
    const unsharePid = s.child.pid ?? -1;
    const agent = Number(
      readFileSync(`/proc/${unsharePid}/task/${unsharePid}/children`, 'utf8').trim().split(/\s+/)[0],
    );
    const nspid = /^NSpid:\s+(.*)$/m.exec(readFileSync(`/proc/${agent}/status`, 'utf8'))?.[1];
    assert.equal(nspid?.split(/\s+/).at(-1), '1', 'the agent is PID 1 in its namespace');
    process.kill(agent, 'SIGTERM');
    await assertStoppedAndRevoked(s, 143, 'SIGTERM');
  });
});
