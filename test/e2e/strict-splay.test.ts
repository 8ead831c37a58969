import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, test } from 'node:test';
import { collectOutput } from '../helpers/child-output.ts';
import { NODE, ROOT, runSecrun, secrunCommand } from '../helpers/cli.ts';
import { until } from '../helpers/poll.ts';

const env = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: '/nonexistent-home',
  // Not a reference as a whole: passed through, but probably meant to be filled in.
  JDBC_URL: 'jdbc:postgresql://db/app?user=app&password=vault:secret/db#pw',
  TYPO: 'valut:secret/db#pw',
};
const child = [NODE, '-e', 'process.stdout.write("STARTED")', '--', '--password=vault:secret/db#pw'];

describe('--strict', () => {
  test('when not strict then mistyped, embedded and argv references are warnings and the command starts', async () => {
    const r = await runSecrun(['run', '--', ...child], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'STARTED');
    assert.match(r.stderr, /TYPO looks like a mistyped vault: reference/);
    assert.match(r.stderr, /JDBC_URL holds a vault: reference inside other text/);
    assert.match(r.stderr, /argv\[4\] argument 4 of the command holds a vault: reference/);
    assert.doesNotMatch(r.stderr, /secret\/db/, 'no value is printed');
  });

  for (const [how, args, extra] of [
    ['--strict', ['--strict'], {}],
    ['SECRUN_STRICT=true', [], { SECRUN_STRICT: 'true' }],
  ] as const) {
    test(`when ${how} then they are errors (65) listed together and nothing starts`, async () => {
      const r = await runSecrun(['run', ...args, '--', ...child], { ...env, ...extra });
      assert.equal(r.code, 65, r.stderr);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /--strict: 3 values look like a reference that would not be resolved/);
      for (const where of ['TYPO', 'JDBC_URL', 'argv\\[4\\]'])
        assert.match(r.stderr, new RegExp(`\\n  ${where} `));
      assert.doesNotMatch(r.stderr, /secret\/db/);
    });
  }

  test('when secrun check runs then it reports them too', async () => {
    const r = await runSecrun(['check'], env);
    assert.match(r.stderr, /JDBC_URL holds a vault: reference inside other text/);
    const strict = await runSecrun(['check', '--strict'], env);
    assert.equal(strict.code, 65, strict.stderr);
  });
});

describe('--boot-splay', () => {
  test('when a boot splay is set then the wait is logged, and a stop signal during it starts nothing (143)', async () => {
    const p = spawn(...secrunCommand(['run', '--boot-splay', '1h', '--', ...child]), {
      cwd: ROOT,
      env: { PATH: env.PATH, HOME: env.HOME },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out = collectOutput(p);
    const done = new Promise<number | null>((r) => p.on('close', (code) => r(code)));
    try {
      await until('the splay log', () =>
        /boot splay: waiting \d+\.\d s before the first request/.test(out.stderr()),
      );
      p.kill('SIGTERM');
      assert.equal(await done, 143, out.stderr());
      assert.equal(out.stdout(), '');
    } finally {
      p.kill('SIGKILL');
    }
  });

  test('when the splay is short then the command starts after it', async () => {
    const r = await runSecrun(
      ['run', '--boot-splay', '10ms', '--', NODE, '-e', 'process.stdout.write("STARTED")'],
      {
        PATH: env.PATH,
        HOME: env.HOME,
      },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'STARTED');
  });
});
