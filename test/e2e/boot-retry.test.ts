import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { describe, test } from 'node:test';
import { runCli } from '../../src/cli.ts';
import { parseSeed } from '../../src/dev/seed.ts';
import { startVaultServer, type VaultDevServer } from '../../src/dev/vault/server.ts';
import { collectOutput } from '../helpers/child-output.ts';
import { canary, childReport, FIXTURES, NODE, ROOT, runSecrun, secrunCommand } from '../helpers/cli.ts';
import { until } from '../helpers/poll.ts';

// A fleet boots: a Vault that is still starting is waited for until the boot deadline, and the
// wait is visible at info level (stderr is a pipe here, not a TTY), without values.

const TOKEN = `hvs.${canary('root')}`;
const VALUE = canary('value');

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

const baseEnv = () => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nonexistent-home' });

describe('boot retries', { concurrency: true }, () => {
  test('when --help is asked for then VAULT_MAX_RETRIES and the retry policy are documented', async () => {
    for (const command of ['run', 'check']) {
      let out = '';
      const io = {
        stdout: (t: string) => {
          out += t;
        },
        stderr: () => {},
        env: {},
        cwd: ROOT,
        stderrIsTty: false,
        stdinIsTty: false,
      };
      assert.equal(await runCli([command, '--help'], io), 0);
      assert.match(out, /VAULT_MAX_RETRIES=N caps the retries/);
      assert.match(out, /until --timeout/);
      assert.match(out, /--strict/);
    }
  });

  test('when Vault refuses connections at first then secrun waits, says so at info, and starts the command once Vault is up', async () => {
    const port = await freePort();
    const child = spawn(
      ...secrunCommand(['run', '--timeout', '60s', '--', NODE, `${FIXTURES}print-env.mjs`]),
      {
        cwd: ROOT,
        env: {
          ...baseEnv(),
          VAULT_ADDR: `http://127.0.0.1:${port}`,
          VAULT_TOKEN: TOKEN,
          APP_KEY: 'vault:secret/app#key',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const out = collectOutput(child);
    const done = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    let vault: VaultDevServer | undefined;
    try {
      // Several waits in a row: more than the 4 tries the agent used to give up after.
      await until(
        () => `three announced retries (stderr: ${out.stderr()})`,
        () => (out.stderr().match(/refused the connection; retrying/g) ?? []).length >= 3,
        40_000,
      );
      assert.match(
        out.stderr(),
        new RegExp(
          `Vault at http://127\\.0\\.0\\.1:${port} refused the connection; retrying in \\d+\\.\\d s, \\d+ s left`,
        ),
      );
      vault = await startVaultServer({
        port,
        seed: parseSeed(
          `vault:\n  root_token: ${TOKEN}\n  kv:\n    secret/app: { key: ${VALUE} }\n`,
          'retry-seed',
        ),
      });
      assert.equal(await done, 0, out.stderr());
      assert.equal(childReport(out.stdout()).env.APP_KEY, VALUE);
      assert.ok(!out.stderr().includes(VALUE) && !out.stderr().includes(TOKEN), 'no value in the logs');
    } finally {
      child.kill('SIGKILL');
      await vault?.close();
    }
  });

  test('when VAULT_MAX_RETRIES is set then it caps the tries within the deadline', async () => {
    const port = await freePort();
    const r = await runSecrun(['run', '--timeout', '60s', '--', NODE, `${FIXTURES}print-env.mjs`], {
      ...baseEnv(),
      VAULT_ADDR: `http://127.0.0.1:${port}`,
      VAULT_TOKEN: TOKEN,
      VAULT_MAX_RETRIES: '2',
      APP_KEY: 'vault:secret/app#key',
    });
    assert.equal(r.code, 69, r.stderr);
    assert.match(r.stderr, /refused the connection; retrying in/);
    assert.match(r.stderr, /connection refused to http:\/\/127\.0\.0\.1/);
  });

  // In a network namespace of its own nothing listens on the default 127.0.0.1:8200 (on a shared
  // machine a developer's `secrun dev` may).
  const canUnshareNet = spawnSync('unshare', ['--net', 'true']).status === 0;
  test('when VAULT_ADDR is unset then the error says so and what was tried, not a TLS hint', {
    skip: canUnshareNet ? false : 'unshare --net is not permitted here',
  }, async () => {
    const r = await runSecrun(
      ['run', '--timeout', '2s', '--', NODE, `${FIXTURES}print-env.mjs`],
      {
        ...baseEnv(),
        VAULT_TOKEN: TOKEN,
        VAULT_MAX_RETRIES: '0',
        APP_KEY: 'vault:secret/app#key',
      },
      { wrap: ['unshare', '--net'] },
    );
    assert.equal(r.code, 69, r.stderr);
    assert.match(
      r.stderr,
      /VAULT_ADDR is not set; secrun tried the default address https:\/\/127\.0\.0\.1:8200/,
    );
    assert.doesNotMatch(r.stderr, /wrong version number|VAULT_CACERT/);
  });

  test('when the deadline passes then the error names --timeout and its value', async () => {
    const vault = await startVaultServer({
      seed: parseSeed(
        `vault:\n  root_token: ${TOKEN}\n  kv:\n    secret/app: { key: ${VALUE} }\n`,
        'deadline-seed',
      ),
    });
    vault.faults.set({ latencyMs: 60_000 });
    try {
      const r = await runSecrun(['run', '--timeout', '1500ms', '--', NODE, `${FIXTURES}print-env.mjs`], {
        ...baseEnv(),
        VAULT_ADDR: vault.url,
        VAULT_TOKEN: TOKEN,
        APP_KEY: 'vault:secret/app#key',
      });
      assert.equal(r.code, 69, r.stderr);
      assert.match(r.stderr, /gave up: deadline exceeded \(--timeout 1\.5s\)/);
    } finally {
      await vault.close();
    }
  });
});
