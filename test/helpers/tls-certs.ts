import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type KeyPair, opensslDir } from './openssl.ts';
import { makeTestPki, type TestPki } from './tls.ts';

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
  const ssl = opensslDir('secrun-pki-extra-');
  try {
    ssl.put('ca', pki.ca);
    const serverExt = 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n';
    ssl.csr('named', 'vault.internal');
    const namedServer = ssl.sign(
      'named',
      'ca',
      'subjectAltName=DNS:vault.internal\nextendedKeyUsage=serverAuth\n',
    );
    const expiredServer = ssl.expired('expired', 'localhost', 'ca', '2000', serverExt);
    const selfSigned = ssl.selfSigned('self', '127.0.0.1', '2', '-addext', 'subjectAltName=IP:127.0.0.1');
    const longCa = ssl.selfSigned('long-ca', 'secrun long CA', '400');
    ssl.csr('long-server', 'localhost');
    const longServer = ssl.sign('long-server', 'long-ca', serverExt, '400');
    return { namedServer, expiredServer, selfSigned, longCa, longServer };
  } finally {
    ssl.remove();
  }
}

/** The test PKI, the extra certificates and a temp directory, made together for a TLS suite. */
export interface TlsMaterial {
  pki: TestPki;
  extra: ExtraCerts;
  tmp: TempFiles;
  /** Files already written in `tmp`: `ca` (pki.ca) and `otherCa` (pki.otherCa) certificates. */
  paths: Record<string, string>;
  /** Removes the temp directory and the PKI. */
  cleanup(): void;
}

export function tlsMaterial(prefix?: string): TlsMaterial {
  const pki = makeTestPki();
  let tmp: TempFiles | undefined;
  try {
    const extra = makeExtraCerts(pki);
    tmp = tempFiles(prefix);
    const files = tmp;
    const paths = {
      ca: files.write('ca.pem', pki.ca.cert),
      otherCa: files.write('other-ca.pem', pki.otherCa.cert),
    };
    return {
      pki,
      extra,
      tmp: files,
      paths,
      cleanup() {
        files.cleanup();
        pki.cleanup();
      },
    };
  } catch (err) {
    tmp?.cleanup();
    pki.cleanup();
    throw err;
  }
}
