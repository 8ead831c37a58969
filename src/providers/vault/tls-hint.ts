/** What to do about a TLS failure, by Node's error code and OpenSSL's reason. */
export function tlsHint(code: string, reason: string): string {
  const r = reason.toLowerCase();
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID' || code === 'HOSTNAME_MISMATCH') {
    return (
      'the Vault server certificate does not name this host: set VAULT_TLS_SERVER_NAME to a name the ' +
      'certificate holds (or use that name in VAULT_ADDR), and check that VAULT_CACERT is the right CA'
    );
  }
  if (code === 'CERT_HAS_EXPIRED') {
    return 'the Vault server certificate has expired (or this clock is wrong); renew the certificate';
  }
  if (code === 'CERT_NOT_YET_VALID') {
    return 'the Vault server certificate is not valid yet; check this clock';
  }
  if (code === 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' || r.includes('certificate required')) {
    return 'Vault requires a client certificate: set VAULT_CLIENT_CERT and VAULT_CLIENT_KEY';
  }
  if (
    r.includes('protocol version') ||
    code === 'ERR_SSL_UNSUPPORTED_PROTOCOL' ||
    code === 'ERR_SSL_NO_PROTOCOLS_AVAILABLE'
  ) {
    return 'the server does not offer TLS 1.2 or newer, the minimum secrun accepts';
  }
  if (r.includes('handshake failure')) {
    return (
      'the server refused the handshake; if Vault requires a client certificate set VAULT_CLIENT_CERT ' +
      'and VAULT_CLIENT_KEY'
    );
  }
  if (r.includes('unknown ca') || r.includes('bad certificate') || r.includes('certificate expired')) {
    return 'Vault rejected the client certificate (VAULT_CLIENT_CERT): is it signed by a CA Vault trusts and unexpired?';
  }
  if (/^(CERT_|ERR_TLS_)|SELF_SIGNED|UNABLE_TO|INVALID_CA/.test(code)) {
    return 'set VAULT_CACERT (or VAULT_CAPATH) to the CA that signed the Vault server certificate';
  }
  return 'check VAULT_CACERT, VAULT_TLS_SERVER_NAME and VAULT_CLIENT_CERT';
}
