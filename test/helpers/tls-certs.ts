import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KeyPair, TestPki } from './tls.ts';

/** True when the openssl CLI can be run (the TLS tests skip without it). */
export function haveOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Server certificates the shared test PKI does not have, plus a long-lived CA. */
export interface ExtraCerts {
  /** Signed by `pki.ca`, valid, naming only DNS:vault.internal (no IP, no localhost). */
  namedServer: KeyPair;
  /** Signed by `pki.ca`, SAN IP:127.0.0.1 + localhost, valid 2000-01-01 to 2001-01-01. */
  expiredServer: KeyPair;
  /** Self-signed server certificate for 127.0.0.1 (trusted by nobody). */
  selfSigned: KeyPair;
  /** A CA valid for 400 days and a server certificate (127.0.0.1, localhost) it signed. */
  longCa: KeyPair;
  longServer: KeyPair;
}

/** Writable temp directory with files; `cleanup()` removes it. */
export interface TempFiles {
  dir: string;
  /** Writes `text` to `name` (mode 0600 unless given) and returns its path. */
  write(name: string, text: string, mode?: number): string;
  cleanup(): void;
}

export function tempFiles(prefix = 'secrun-tls-'): TempFiles {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    write(name, text, mode = 0o600) {
      const p = join(dir, name);
      writeFileSync(p, text, { mode });
      chmodSync(p, mode);
      return p;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Makes the extra certificates with the openssl CLI, signing with `pki.ca`. */
export function makeExtraCerts(pki: TestPki): ExtraCerts {
  const dir = mkdtempSync(join(tmpdir(), 'secrun-pki-extra-'));
  const f = (name: string) => join(dir, name);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const read = (name: string): KeyPair => ({
    cert: readFileSync(f(`${name}.pem`), 'utf8'),
    key: readFileSync(f(`${name}.key`), 'utf8'),
  });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  try {
    writeFileSync(f('ca.pem'), pki.ca.cert);
    writeFileSync(f('ca.key'), pki.ca.key);
    const csr = (name: string, cn: string) =>
      ssl('req', ...ec, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', `/CN=${cn}`);
    const sign = (name: string, caName: string, ext: string, days = '2') => {
      writeFileSync(f(`${name}.ext`), ext);
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
        days,
        '-extfile',
        f(`${name}.ext`),
      );
      return read(name);
    };
    const serverExt = 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n';

    csr('named', 'vault.internal');
    const namedServer = sign(
      'named',
      'ca',
      'subjectAltName=DNS:vault.internal\nextendedKeyUsage=serverAuth\n',
    );

    // `openssl ca` is the 3.0 command that takes explicit start and end dates.
    csr('expired', 'localhost');
    writeFileSync(f('index.txt'), '');
    writeFileSync(f('serial'), '2000\n');
    writeFileSync(f('expired.ext'), serverExt);
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
      '-extfile',
      f('expired.ext'),
      '-startdate',
      '20000101000000Z',
      '-enddate',
      '20010101000000Z',
      '-notext',
    );
    const expiredServer = {
      cert: readFileSync(f('expired.pem'), 'utf8'),
      key: readFileSync(f('expired.key'), 'utf8'),
    };

    ssl(
      'req',
      '-x509',
      ...ec,
      '-keyout',
      f('self.key'),
      '-out',
      f('self.pem'),
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    );
    const selfSigned = read('self');

    ssl(
      'req',
      '-x509',
      ...ec,
      '-keyout',
      f('long-ca.key'),
      '-out',
      f('long-ca.pem'),
      '-days',
      '400',
      '-subj',
      '/CN=secrun long CA',
    );
    const longCa = read('long-ca');
    csr('long-server', 'localhost');
    const longServer = sign('long-server', 'long-ca', serverExt, '400');
    return { namedServer, expiredServer, selfSigned, longCa, longServer };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
