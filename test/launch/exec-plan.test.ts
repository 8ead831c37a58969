import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { CommandError, SecrunError } from '../../src/base/errors.ts';
import { argMax, checkExecEnv, MAX_ARG_STRLEN, planExec } from '../../src/launch/exec-plan.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'secrun-exec-plan-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function program(name: string, content: string | Buffer): string {
  const file = path.join(dir, name);
  writeFileSync(file, content);
  chmodSync(file, 0o755);
  return file;
}

const opts = { path: '/usr/bin:/bin', cwd: dir };
const plan = (file: string, args: string[] = []) => planExec({ file, argv0: file, args }, opts);

function commandError(fn: () => unknown): CommandError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof CommandError, String(err));
    return err;
  }
  assert.fail('expected a CommandError');
}

describe('planExec', () => {
  test('when the program is an ELF binary or has a present interpreter then it runs as is', () => {
    assert.deepEqual(plan(process.execPath, ['-v']), {
      file: process.execPath,
      argv0: process.execPath,
      args: ['-v'],
    });
    const script = program('ok.sh', '#!/bin/sh\necho ok\n');
    assert.equal(plan(script).file, script);
    const viaEnv = program('env-ok.sh', '#!/usr/bin/env sh\necho ok\n');
    assert.equal(plan(viaEnv).file, viaEnv);
  });

  test('when the #! interpreter is missing then 127 names it, as bash does', () => {
    const script = program('bad.sh', '#!/nonexistent/interpreter -x\necho never\n');
    const err = commandError(() => plan(script));
    assert.equal(err.exitCode, 127);
    assert.match(
      err.message,
      /bad interpreter: \/nonexistent\/interpreter is missing \(the #! line of .*bad\.sh\)/,
    );
  });

  test('when #!/usr/bin/env names a program missing from the PATH then 127 names it, as env does', () => {
    const script = program('env-bad.sh', '#!/usr/bin/env -S secrun-no-such-runtime --flag\n');
    const err = commandError(() => plan(script));
    assert.equal(err.exitCode, 127);
    assert.match(err.message, /secrun-no-such-runtime \(from the #! line of .*env-bad\.sh\) is not found/);
  });

  test('when a text file has no #! line (ENOEXEC) then it is run by /bin/sh, as execvp and shells do', () => {
    const script = program('plain', 'echo from sh\n');
    assert.deepEqual(plan(script, ['a']), { file: '/bin/sh', argv0: '/bin/sh', args: [script, 'a'] });
  });

  test('when a binary file is not a program for this system then 126 says so', () => {
    const junk = program('junk', Buffer.from([0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 2, 0x0a]));
    const err = commandError(() => plan(junk));
    assert.equal(err.exitCode, 126);
    assert.match(err.message, /cannot execute binary file/);
  });

  test('when an argument contains a NUL or is longer than MAX_ARG_STRLEN then 126 names it, not its text', () => {
    assert.equal(
      commandError(() => planExec({ file: process.execPath, argv0: 'node', args: ['a\0SECRET'] }, opts))
        .exitCode,
      126,
    );
    const long = 'x'.repeat(MAX_ARG_STRLEN);
    const err = commandError(() => planExec({ file: process.execPath, argv0: 'node', args: [long] }, opts));
    assert.match(err.message, /argument 1 of the command is 131,072 bytes/);
  });
});

describe('checkExecEnv', () => {
  const p = { file: '/bin/true', argv0: 'true', args: [] };
  function envError(env: Record<string, string>, limit?: number): SecrunError {
    try {
      checkExecEnv(p, env, limit);
    } catch (err) {
      assert.ok(err instanceof SecrunError);
      assert.equal(err.code, 'exec.environment');
      assert.equal(err.exitCode, 65);
      return err;
    }
    assert.fail('expected exec.environment');
  }

  test('when a value holds a NUL byte then 65 names the variable, never the value', () => {
    const err = envError({ DB_PASSWORD: 'CANARY-before\0CANARY-after', OK: 'fine' });
    assert.match(err.message, /DB_PASSWORD: its value \(at character 13\) contains a NUL byte/);
    assert.ok(!JSON.stringify(err.toJSON()).includes('CANARY'));
  });

  test('when NAME=value is over MAX_ARG_STRLEN then 65 names the variable and its size', () => {
    checkExecEnv(p, { BIG: 'x'.repeat(MAX_ARG_STRLEN - 5) });
    const err = envError({ BIG: 'x'.repeat(MAX_ARG_STRLEN) });
    assert.match(err.message, /BIG: NAME=value is 131,076 bytes; Linux allows at most 131,071 per variable/);
  });

  test('when arguments and environment exceed ARG_MAX then 65 gives the total, the limit and the largest variables', () => {
    const env = { A: 'a'.repeat(100_000), B: 'b'.repeat(90_000), C: 'c' };
    checkExecEnv(p, env, 200_000);
    const err = envError(env, 150_000);
    assert.match(
      err.message,
      /take 190,0\d\d bytes with their pointers; the limit here is 150,000 \(ARG_MAX/,
    );
    assert.match(err.message, /largest variables: A 100,002, B 90,002, C 3/);
  });

  test('when ARG_MAX is computed from the stack limit then it equals getconf ARG_MAX and follows the kernel rule', () => {
    assert.equal(argMax(), Number(execFileSync('getconf', ['ARG_MAX']).toString().trim()));
    assert.equal(
      argMax('Max stack size            8388608              unlimited            bytes\n'),
      2_097_152,
    );
    assert.equal(
      argMax('Max stack size            unlimited            unlimited            bytes\n'),
      6_291_456,
    );
    assert.equal(
      argMax('Max stack size            65536                unlimited            bytes\n'),
      131_072,
    );
  });
});
