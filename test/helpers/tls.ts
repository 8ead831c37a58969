import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface KeyPair {
  cert: string;
  key: string;
}

/** Throwaway PKI made with the openssl CLI in a temp dir; call cleanup() when done. */
export interface TestPki {
  ca: KeyPair;
  /** Server cert for 127.0.0.1 / localhost, signed by `ca`. */
  server: KeyPair;
  /** Client certs signed by `ca`: CN web.example.internal, and one with another CN. */
  client: KeyPair;
  otherCnClient: KeyPair;
  /** Client cert signed by `ca` whose validity ended in 2001. */
  expiredClient: KeyPair;
  /** A second CA and a client cert it signed (not trusted by `ca` roles). */
  otherCa: KeyPair;
  untrustedClient: KeyPair;
  cleanup(): void;
}

export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'secrun-pki-'));
  const f = (name: string) => join(dir, name);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const read = (name: string) => readFileSync(f(name), 'utf8');
  try {
    const newCa = (name: string, cn: string): KeyPair => {
      ssl(
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        f(`${name}.key`),
        '-out',
        f(`${name}.pem`),
        '-days',
        '2',
        '-subj',
        `/CN=${cn}`,
      );
      return { cert: read(`${name}.pem`), key: read(`${name}.key`) };
    };
    const csr = (name: string, cn: string) =>
      ssl(
        'req',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        f(`${name}.key`),
        '-out',
        f(`${name}.csr`),
        '-subj',
        `/CN=${cn}`,
      );
    const signed = (name: string, cn: string, caName: string, ext?: string): KeyPair => {
      csr(name, cn);
      const extArgs: string[] = [];
      if (ext) {
        writeFileSync(f(`${name}.ext`), ext);
        extArgs.push('-extfile', f(`${name}.ext`));
      }
      ssl(
        'x509',
        '-req',
        '-in',
        f(`${name}.csr`),
        '-CA',
        f(`${caName}.pem`),
        '-CAkey',
        f(`${caName}.key`),
        '-CAcreateserial',
        '-out',
        f(`${name}.pem`),
        '-days',
        '2',
        ...extArgs,
      );
      return { cert: read(`${name}.pem`), key: read(`${name}.key`) };
    };
    const ca = newCa('ca', 'secrun test CA');
    const otherCa = newCa('other-ca', 'secrun other CA');
    const server = signed('server', 'localhost', 'ca', 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    const client = signed('client', 'web.example.internal', 'ca', 'extendedKeyUsage=clientAuth\n');
    const otherCnClient = signed('other-cn', 'db.example.internal', 'ca', 'extendedKeyUsage=clientAuth\n');
    const untrustedClient = signed(
      'untrusted',
      'web.example.internal',
      'other-ca',
      'extendedKeyUsage=clientAuth\n',
    );
    // `openssl ca` is the only 3.0 command that takes explicit start/end dates.
    csr('expired', 'web.example.internal');
    writeFileSync(f('index.txt'), '');
    writeFileSync(f('serial'), '1000\n');
    writeFileSync(
      f('ca.cnf'),
      '[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\nnew_certs_dir=.\nserial=serial\ndefault_md=sha256\npolicy=p\n[p]\ncommonName=supplied\n',
    );
    ssl(
      'ca',
      '-batch',
      '-config',
      f('ca.cnf'),
      '-cert',
      f('ca.pem'),
      '-keyfile',
      f('ca.key'),
      '-in',
      f('expired.csr'),
      '-out',
      f('expired.pem'),
      '-startdate',
      '20000101000000Z',
      '-enddate',
      '20010101000000Z',
      '-notext',
    );
    const expiredClient = { cert: read('expired.pem'), key: read('expired.key') };
    return {
      ca,
      server,
      client,
      otherCnClient,
      expiredClient,
      otherCa,
      untrustedClient,
      cleanup: () => rmSync(dir, { recursive: true, force: true }),
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
