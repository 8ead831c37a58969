import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface KeyPair {
  cert: string;
  key: string;
}

/** openssl CLI steps run in one temp directory; files are named `<name>.pem` / `<name>.key`. */
export interface OpensslDir {
  dir: string;
  path(name: string): string;
  /** Writes a key pair as `<name>.pem` and `<name>.key` (e.g. a CA made elsewhere, to sign with). */
  put(name: string, pair: KeyPair): void;
  /** A self-signed P-256 certificate with subject CN=`cn`, valid `days`; `extra` goes to `openssl req`. */
  selfSigned(name: string, cn: string, days?: string, ...extra: string[]): KeyPair;
  /** A P-256 key and a certificate request for CN=`cn`. */
  csr(name: string, cn: string): void;
  /** Signs `<name>.csr` with the CA `caName` for `days`, adding the extensions in `ext` when given. */
  sign(name: string, caName: string, ext?: string, days?: string): KeyPair;
  /** A certificate for CN=`cn` signed by `caName`, valid only from 2000-01-01 to 2001-01-01. */
  expired(name: string, cn: string, caName: string, serial: string, ext?: string): KeyPair;
  remove(): void;
}

/** A fresh temp directory for openssl work; call remove() when done. */
export function opensslDir(prefix: string): OpensslDir {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const f = (name: string) => join(dir, name);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const read = (name: string): KeyPair => ({
    cert: readFileSync(f(`${name}.pem`), 'utf8'),
    key: readFileSync(f(`${name}.key`), 'utf8'),
  });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  const extFile = (name: string, ext: string | undefined): string[] => {
    if (ext === undefined) return [];
    writeFileSync(f(`${name}.ext`), ext);
    return ['-extfile', f(`${name}.ext`)];
  };
  const csr = (name: string, cn: string) => {
    ssl('req', ...ec, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', `/CN=${cn}`);
  };
  return {
    dir,
    path: f,
    put(name, pair) {
      writeFileSync(f(`${name}.pem`), pair.cert);
      writeFileSync(f(`${name}.key`), pair.key);
    },
    selfSigned(name, cn, days = '2', ...extra) {
      const out = ['-keyout', f(`${name}.key`), '-out', f(`${name}.pem`)];
      ssl('req', '-x509', ...ec, ...out, '-days', days, '-subj', `/CN=${cn}`, ...extra);
      return read(name);
    },
    csr,
    sign(name, caName, ext, days = '2') {
      const caArgs = ['-CA', f(`${caName}.pem`), '-CAkey', f(`${caName}.key`), '-CAcreateserial'];
      const io = ['-in', f(`${name}.csr`), '-out', f(`${name}.pem`)];
      ssl('x509', '-req', ...io, ...caArgs, '-days', days, ...extFile(name, ext));
      return read(name);
    },
    expired(name, cn, caName, serial, ext) {
      // `openssl ca` is the only 3.0 command that takes explicit start and end dates.
      csr(name, cn);
      writeFileSync(f('index.txt'), '');
      writeFileSync(f('serial'), `${serial}\n`);
      writeFileSync(
        f('ca.cnf'),
        '[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\nnew_certs_dir=.\nserial=serial\ndefault_md=sha256\npolicy=p\n[p]\ncommonName=supplied\n',
      );
      const caArgs = ['-cert', f(`${caName}.pem`), '-keyfile', f(`${caName}.key`)];
      const dates = ['-startdate', '20000101000000Z', '-enddate', '20010101000000Z'];
      const io = ['-in', f(`${name}.csr`), '-out', f(`${name}.pem`)];
      ssl(
        'ca',
        '-batch',
        '-config',
        f('ca.cnf'),
        ...caArgs,
        ...io,
        ...extFile(name, ext),
        ...dates,
        '-notext',
      );
      return read(name);
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
