import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CommandError } from '../../src/base/errors.ts';
import { execReplace, hardenProcess, resolveCommand } from '../../src/launch/exec.ts';
import { collectOutput } from '../helpers/child-output.ts';

const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));
const node = process.execPath;

interface Ran {
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a program with an exact environment and collects its output. */
function run(file: string, args: string[], env: Record<string, string>): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = collectOutput(child);
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolve({ pid: child.pid!, code, signal, stdout: out.stdout(), stderr: out.stderr() }),
    );
  });
}

function assertCommandError(fn: () => unknown, exitCode: 126 | 127, message: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof CommandError, `expected CommandError, got ${String(err)}`);
    assert.equal(err.exitCode, exitCode);
    assert.equal(err.message, message);
    return true;
  });
}

describe('resolveCommand', () => {
  let dir = '';
  let bin = '';
  let other = '';

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'secrun-exec-'));
    bin = path.join(dir, 'bin');
    other = path.join(dir, 'other');
    mkdirSync(bin);
    mkdirSync(other);
    mkdirSync(path.join(bin, 'adir'));
    writeFileSync(path.join(bin, 'tool'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    writeFileSync(path.join(bin, 'plain'), 'not a program\n', { mode: 0o644 });
    chmodSync(path.join(bin, 'plain'), 0o644);
    writeFileSync(path.join(other, 'plain'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    writeFileSync(path.join(dir, 'here'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('when the command is on PATH then its absolute path is returned', () => {
    assert.equal(resolveCommand('tool', { path: `/nonexistent:${bin}`, cwd: dir }), path.join(bin, 'tool'));
  });

  test('when the command is nowhere on PATH then it fails with 127', () => {
    assertCommandError(
      () => resolveCommand('missing-tool', { path: bin, cwd: dir }),
      127,
      'command not found: missing-tool',
    );
  });

  test('when the only match is a 0644 file then it fails with 126', () => {
    assertCommandError(
      () => resolveCommand('plain', { path: bin, cwd: dir }),
      126,
      `permission denied: ${path.join(bin, 'plain')}`,
    );
  });

  test('when a non-executable match comes first then the search goes on like execvp', () => {
    assert.equal(resolveCommand('plain', { path: `${bin}:${other}`, cwd: dir }), path.join(other, 'plain'));
  });

  test('when the match is a directory then it fails with 126', () => {
    assertCommandError(
      () => resolveCommand('adir', { path: bin, cwd: dir }),
      126,
      `permission denied: ${path.join(bin, 'adir')}`,
    );
  });

  test('when the command has a slash then it is checked relative to cwd, not searched', () => {
    assert.equal(resolveCommand('./bin/tool', { path: '/nonexistent', cwd: dir }), path.join(bin, 'tool'));
    assert.equal(resolveCommand(path.join(bin, 'tool'), { path: '', cwd: '/' }), path.join(bin, 'tool'));
    assertCommandError(
      () => resolveCommand('./tool', { path: bin, cwd: dir }),
      127,
      'command not found: ./tool',
    );
    assertCommandError(
      () => resolveCommand('bin/plain', { path: other, cwd: dir }),
      126,
      `permission denied: ${path.join(bin, 'plain')}`,
    );
  });

  test('when PATH has an empty entry then it means the working directory', () => {
    assert.equal(resolveCommand('here', { path: `${bin}::/nonexistent`, cwd: dir }), path.join(dir, 'here'));
    assert.equal(resolveCommand('here', { path: `${bin}:`, cwd: dir }), path.join(dir, 'here'));
    assertCommandError(() => resolveCommand('here', { path: bin, cwd: dir }), 127, 'command not found: here');
  });

  test('when the command is empty then it fails with 127', () => {
    assertCommandError(() => resolveCommand('', { path: bin }), 127, 'command not found: (empty command)');
  });
});

describe('execReplace', () => {
  const harness = path.join(fixtures, 'exec-harness.ts');
  const env = { PATH: path.dirname(node), SECRUN_TEST_ONLY: 'passed', EMPTY: '' };

  test('when the agent execs then the program has its pid and exactly the env passed', async () => {
    const inherited = { ...env, SECRUN_CANARY_INHERITED: 'must-not-reach-the-child' };
    const ran = await run(
      node,
      [harness, JSON.stringify(env), 'node', path.join(fixtures, 'print-env.mjs')],
      inherited,
    );
    assert.equal(ran.code, 0, ran.stderr);
    const printed = JSON.parse(ran.stdout) as { pid: number; argv0: string; env: Record<string, string> };
    assert.equal(printed.pid, ran.pid);
    assert.deepEqual(printed.env, env);
    assert.equal(printed.argv0, 'node');
  });

  test('when the exec-ed program exits with a code then that is the exit code of the agent pid', async () => {
    for (const code of [0, 3, 42]) {
      const ran = await run(
        node,
        [harness, JSON.stringify(env), node, path.join(fixtures, 'exit-with.mjs'), `${code}`],
        env,
      );
      assert.equal(ran.code, code, ran.stderr);
      assert.match(ran.stderr, new RegExp(`^harness pid ${ran.pid}$`, 'm'));
    }
  });

  test('when the command is missing then the preflight exits 127 instead of aborting', async () => {
    const ran = await run(node, [harness, JSON.stringify(env), 'no-such-command-secrun'], env);
    assert.equal(ran.signal, null);
    assert.equal(ran.code, 127);
    assert.match(ran.stderr, /command\.notFound: command not found: no-such-command-secrun/);
  });

  test('when process.execve is missing then an InternalError explains it', (t) => {
    t.mock.property(process, 'execve', undefined);
    assert.throws(() => execReplace('/bin/true', [], {}), { code: 'exec.unsupported', exitCode: 70 });
  });
});

describe('hardenProcess', () => {
  test('when called then reports exclude the env and SIGUSR1 has a listener', () => {
    const before = process.listenerCount('SIGUSR1');
    hardenProcess();
    hardenProcess();
    assert.equal(process.report.excludeEnv, true);
    assert.equal(process.listenerCount('SIGUSR1'), before + 1);
  });
});
