// The examples/ files, checked as far as this machine allows: the paths they copy are what the
// builds write, the manifests parse, and the entrypoint lines run secrun ($SECRUN_BIN; the
// executable copied alone into an empty directory) against the dev servers.
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { ARTIFACTS } from '../../.ci/build/bundle.ts';
import { type DevServers, startDevServers } from '../../src/dev/index.ts';
import { parseRef } from '../../src/refs/parse.ts';
import { BIN, childReport, FIXTURES, IS_EXECUTABLE, NODE, ROOT, runSecrun } from '../helpers/cli.ts';
import { opensslVerify } from '../helpers/pki.ts';

const EXAMPLES = `${ROOT}examples/`;
const read = (name: string): string => readFileSync(`${EXAMPLES}${name}`, 'utf8');

interface Instruction {
  op: string;
  args: string;
  /** The stage (FROM ... AS name) it belongs to. */
  stage: string;
}

/** A Dockerfile's instructions (continuation lines joined, comments dropped). */
function dockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let stage = '';
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  for (const line of lines) {
    const m = /^([A-Z]+)\s+(.*)$/.exec(line.trim());
    if (!m || line.trim().startsWith('#')) continue;
    const [, op = '', args = ''] = m;
    if (op === 'FROM') stage = /\sAS\s+(\S+)/i.exec(args)?.[1] ?? args;
    out.push({ op, args, stage });
  }
  return out;
}

/** `COPY --from=<stage> <src> <dest>` instructions. */
function copiesFrom(ins: Instruction[], from: string): Array<{ src: string; dest: string; stage: string }> {
  return ins
    .filter((i) => i.op === 'COPY' && i.args.startsWith(`--from=${from} `))
    .map((i) => {
      const [, src = '', dest = ''] = i.args.split(/\s+/);
      return { src, dest, stage: i.stage };
    });
}

/** `-e NAME=vault:...` / `awssm:` lines of the `docker run` comment at the end of a Dockerfile. */
function dockerRunRefs(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const m of text.matchAll(/^#\s+-e ([A-Z_][A-Z0-9_]*)=((?:vault|awssm):\S+)/gm))
    env[m[1] ?? ''] = m[2] ?? '';
  return env;
}

const scripts = (
  JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { scripts: Record<string, string> }
).scripts;

let dev: DevServers;
before(async () => {
  dev = await startDevServers({ seedFile: `${EXAMPLES}seed.yaml` });
});
after(() => dev.close());

describe('examples/Dockerfile.java', () => {
  const text = read('Dockerfile.java');
  const ins = dockerfile(text);

  test('when the image is built then the builder stage runs npm run build:exe and the service copies the executable', () => {
    assert.ok(scripts['build:exe'], 'package.json has build:exe');
    assert.ok(
      ins.some((i) => i.stage === 'secrun' && i.op === 'RUN' && i.args.includes('npm run build:exe')),
    );
    const copies = copiesFrom(ins, 'secrun');
    assert.ok(copies.length >= 2);
    for (const c of copies) {
      assert.equal(c.src, `/src/${ARTIFACTS.x64}`, 'the build writes what the image copies');
      assert.equal(c.dest, '/usr/local/bin/secrun');
    }
    const runtime = ins.filter((i) => i.op === 'FROM').at(-1)?.args ?? '';
    assert.match(runtime, /^(eclipse-temurin|gcr\.io\/distroless\/java)/);
  });

  test('when the container starts then its ENTRYPOINT runs the executable against the dev servers', async (t) => {
    const entrypoint = JSON.parse(ins.find((i) => i.op === 'ENTRYPOINT')?.args ?? '[]') as string[];
    assert.deepEqual(entrypoint, ['/usr/local/bin/secrun', 'run', '--']);
    const refs = dockerRunRefs(text);
    assert.ok(Object.keys(refs).length >= 3, 'the docker run line names references');
    // The executable alone in an empty directory, PATH without node: only glibc around.
    let secrun = BIN;
    if (IS_EXECUTABLE) {
      const dir = mkdtempSync(path.join(tmpdir(), 'secrun-alone-'));
      t.after(() => rmSync(dir, { recursive: true, force: true }));
      secrun = path.join(dir, 'secrun');
      copyFileSync(BIN, secrun);
    }
    const env = { PATH: '/usr/bin:/bin', HOME: '/nonexistent-home', ...dev.env, ...refs };
    // java is not installed here: the command is a program that prints its environment.
    const r = await runSecrun([...entrypoint.slice(1), NODE, `${FIXTURES}print-env.mjs`], env, {
      bin: secrun,
    });
    assert.equal(r.code, 0, r.stderr);
    const child = childReport(r.stdout).env;
    for (const [name, ref] of Object.entries(refs)) {
      assert.ok(child[name] !== undefined && child[name] !== ref, `${name} was resolved`);
    }
    assert.equal(child['STRIPE_API_KEY'], 'sk_test_dev_only_0000000000000000');
    assert.equal(child['VAULT_TOKEN'], undefined, 'the agent token stays with the agent');
  });
});

describe('examples/kubernetes-init.yaml', () => {
  const docs = parseAllDocuments(read('kubernetes-init.yaml'));

  test('when the manifest is read then it parses and the init container copies the executable into an emptyDir the service starts from', () => {
    assert.deepEqual(
      docs.flatMap((d) => d.errors),
      [],
    );
    const deployment = docs.map((d) => d.toJS()).find((d) => d?.kind === 'Deployment');
    const pod = deployment.spec.template.spec;
    const [init] = pod.initContainers as Array<{
      command: string[];
      volumeMounts: Array<{ name: string; mountPath: string }>;
    }>;
    assert.ok(init);
    const [cp, from, to] = init.command;
    assert.equal(cp, 'cp');
    const secrunImage = copiesFrom(dockerfile(read('Dockerfile.java')), 'secrun').find(
      (c) => c.stage === 'secrun-image',
    );
    assert.equal(from, secrunImage?.dest, 'the init container copies what the secrun image holds');
    const volume = (pod.volumes as Array<{ name: string; emptyDir?: object }>).find((v) => v.emptyDir);
    assert.ok(volume, 'an emptyDir volume');
    const initMount = init.volumeMounts.find((m) => m.name === volume.name);
    assert.ok(initMount && to?.startsWith(`${initMount.mountPath}/`));

    const [service] = pod.containers as Array<{
      command: string[];
      env: Array<{ name: string; value: string }>;
      volumeMounts: Array<{ name: string; mountPath: string }>;
    }>;
    assert.ok(service);
    const mount = service.volumeMounts.find((m) => m.name === volume.name);
    assert.ok(mount);
    assert.deepEqual(service.command, [`${mount.mountPath}/${path.basename(to ?? '')}`, 'run', '--']);
    const refs = service.env.filter((e) => /^(vault|awssm):/.test(e.value));
    assert.ok(refs.length >= 3);
    for (const e of refs) assert.doesNotThrow(() => parseRef(e.value), e.value);
  });
});

describe('examples/Dockerfile (Node, on the bundle)', () => {
  const ins = dockerfile(read('Dockerfile'));

  test('when the image is built then it copies the bundle and its chunks, and its command file exists', () => {
    assert.ok(ins.some((i) => i.stage === 'secrun' && i.op === 'RUN' && /npm run build\b/.test(i.args)));
    const copies = copiesFrom(ins, 'secrun');
    assert.deepEqual(
      copies.map((c) => c.src).sort(),
      [`/src/${ARTIFACTS.bundle}`, `/src/${ARTIFACTS.chunks}`].sort(),
    );
    const bundleDest = copies.find((c) => c.src.endsWith('.mjs'))?.dest;
    assert.ok(
      ins.some((i) => i.op === 'RUN' && i.args.includes(`ln -s ${bundleDest} /usr/local/bin/secrun`)),
    );
    assert.equal(
      path.dirname(bundleDest ?? ''),
      path.dirname(copies.find((c) => c.src.endsWith('chunks'))?.dest ?? '-'),
    );
    const copyApp = ins.find((i) => i.op === 'COPY' && !i.args.startsWith('--from'))?.args.split(/\s+/)[0];
    assert.ok(copyApp && existsSync(`${ROOT}${copyApp}`), `${copyApp} exists`);
    assert.deepEqual(JSON.parse(ins.find((i) => i.op === 'ENTRYPOINT')?.args ?? '[]'), [
      'secrun',
      'run',
      '--',
    ]);
  });
});

describe('examples/github-actions.yml', () => {
  const workflow = parseYaml(read('github-actions.yml')) as {
    jobs: Record<string, { steps: Array<{ run?: string; uses?: string }> }>;
  };
  const runs = Object.values(workflow.jobs).flatMap((j) => j.steps.map((s) => s.run ?? ''));

  test('when the workflow runs then secrun is built from its repository, never installed from npm', () => {
    assert.ok(
      !runs.some((r) => /npm (install|i) (-g )?secrun|npx secrun/.test(r)),
      'no secrun package on npm',
    );
    const build = runs.find((r) => r.includes('npm run build:exe'));
    assert.ok(build, 'a step builds the executable');
    assert.ok(build.includes(ARTIFACTS.x64), 'and installs what build:exe writes');
  });

  test('when the workflow runs then it checks with --json and runs a command with the secrets', () => {
    assert.ok(runs.some((r) => /secrun check .*--json/.test(r)));
    assert.ok(runs.some((r) => /secrun run .*-- \S/.test(r)));
  });
});

describe('examples/kubernetes.yaml', () => {
  test('when the manifest is read then every document parses', () => {
    const docs = parseAllDocuments(read('kubernetes.yaml'));
    assert.ok(docs.length >= 3);
    assert.deepEqual(
      docs.flatMap((d) => d.errors),
      [],
    );
  });
});

describe('examples/spring-boot-mtls', () => {
  const app = parseYaml(read('spring-boot-mtls/application.yaml')) as {
    spring: { ssl: { bundle: { pem: Record<string, Record<string, Record<string, string>>> } } };
    server: { ssl: { bundle: string; 'client-auth': string } };
  };
  const config = parseYaml(read('spring-boot-mtls/secrun.yaml')) as { env: Record<string, string> };

  test('when Spring Boot reads the bundle then every placeholder is a variable secrun sets, from one issued document', () => {
    const bundle = app.spring.ssl.bundle.pem[app.server.ssl.bundle];
    assert.ok(bundle, 'server.ssl.bundle names the PEM bundle');
    const placeholders = [
      bundle.keystore?.certificate,
      bundle.keystore?.['private-key'],
      bundle.truststore?.certificate,
    ];
    const names = placeholders.map((p) => /^\$\{([A-Z_]+)\}$/.exec(p ?? '')?.[1] ?? '');
    for (const name of names) assert.ok(config.env[name], `${name} is set by secrun.yaml`);
    const keys = new Set(names.map((n) => parseRef(config.env[n] ?? '').documentKey));
    assert.equal(keys.size, 1, 'certificate, key and CA come from one request');
    assert.equal(app.server.ssl['client-auth'], 'need');
  });

  test('when the service starts then it gets a certificate for its name, its key, and the CA that verifies it', async () => {
    const env = { PATH: '/usr/bin:/bin', HOME: '/nonexistent-home', ...dev.env };
    const r = await runSecrun(
      ['run', '--config', `${EXAMPLES}spring-boot-mtls/secrun.yaml`, '--', NODE, `${FIXTURES}print-env.mjs`],
      env,
    );
    assert.equal(r.code, 0, r.stderr);
    const child = childReport(r.stdout).env;
    const cert = new X509Certificate(child['TLS_CERTIFICATE'] ?? '');
    assert.equal(cert.subject, 'CN=payments.svc.cluster.local');
    assert.ok(cert.checkPrivateKey(createPrivateKey(child['TLS_PRIVATE_KEY'] ?? '')));
    const verdict = opensslVerify(child['TLS_CA'] ?? '', child['TLS_CERTIFICATE'] ?? '', 'sslserver');
    assert.ok(verdict.ok, verdict.text);
  });
});
