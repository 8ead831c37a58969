import { type KeyPair, opensslDir } from './openssl.ts';

export type { KeyPair } from './openssl.ts';

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
  const ssl = opensslDir('secrun-pki-');
  try {
    const signed = (name: string, cn: string, caName: string, ext: string): KeyPair => {
      ssl.csr(name, cn);
      return ssl.sign(name, caName, ext);
    };
    const clientExt = 'extendedKeyUsage=clientAuth\n';
    const ca = ssl.selfSigned('ca', 'secrun test CA');
    const otherCa = ssl.selfSigned('other-ca', 'secrun other CA');
    const server = signed('server', 'localhost', 'ca', 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    const client = signed('client', 'web.example.internal', 'ca', clientExt);
    const otherCnClient = signed('other-cn', 'db.example.internal', 'ca', clientExt);
    const untrustedClient = signed('untrusted', 'web.example.internal', 'other-ca', clientExt);
    const expiredClient = ssl.expired('expired', 'web.example.internal', 'ca', '1000');
    return {
      ca,
      server,
      client,
      otherCnClient,
      expiredClient,
      otherCa,
      untrustedClient,
      cleanup: ssl.remove,
    };
  } catch (err) {
    ssl.remove();
    throw err;
  }
}
