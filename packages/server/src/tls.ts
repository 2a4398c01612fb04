import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as tls from 'node:tls';
import { usageError } from '@sous/core';

/** Where the server's certificate (chain) and key are, as PEM files. */
export interface TlsFiles {
  cert: string;
  key: string;
}

/** A certificate and key that belong together, read from their files. */
export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  /** Who the certificate names and until when, for the log. */
  subject: string;
  validTo: string;
  fingerprint: string;
}

function read(file: string, what: string, flag: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw usageError('TLS_FILE_UNREADABLE', `${flag} ${file}: cannot read the ${what}: ${(e as Error).message}`, { file, hints: [`Give the PEM file of the ${what}: ${flag} /etc/sous/tls/server.${what === 'key' ? 'key' : 'crt'}`] });
  }
}

/**
 * Reads and checks the server's certificate and key: both must be PEM, and
 * the key must be the certificate's. Refusals are usage errors (TLS_*), so a
 * bad pair stops a start and is reported (the old pair kept) on a reload.
 */
export function loadTls(files: Partial<TlsFiles>): TlsMaterial {
  if (!files.cert || !files.key) {
    throw usageError('TLS_INCOMPLETE', `HTTPS needs both --tls-cert and --tls-key (only ${files.cert ? '--tls-cert' : '--tls-key'} was given)`, { hints: ['sous server --tls-cert server.crt --tls-key server.key'] });
  }
  const cert = read(files.cert, 'certificate', '--tls-cert');
  const key = read(files.key, 'key', '--tls-key');
  let x509: crypto.X509Certificate;
  try {
    x509 = new crypto.X509Certificate(cert);
  } catch (e) {
    throw usageError('TLS_INVALID', `--tls-cert ${files.cert} is not a PEM certificate: ${(e as Error).message}`, { file: files.cert, hints: ['Check it with: openssl x509 -in FILE -noout -text'] });
  }
  let pk: crypto.KeyObject;
  try {
    pk = crypto.createPrivateKey(key);
  } catch (e) {
    throw usageError('TLS_INVALID', `--tls-key ${files.key} is not a PEM private key: ${(e as Error).message}`, { file: files.key, hints: ['Check it with: openssl pkey -in FILE -noout'] });
  }
  if (!x509.checkPrivateKey(pk)) {
    throw usageError('TLS_KEY_MISMATCH', `--tls-key ${files.key} is not the key of the certificate ${files.cert}`, { file: files.key, hints: ['Give the key the certificate was issued for'] });
  }
  try {
    tls.createSecureContext({ cert, key });
  } catch (e) {
    throw usageError('TLS_INVALID', `the certificate and key cannot serve TLS: ${(e as Error).message}`, { hints: ['Check both files with openssl'] });
  }
  return { cert, key, subject: x509.subject.replace(/\n/g, ', '), validTo: x509.validTo, fingerprint: x509.fingerprint256 };
}

/** Whether a listen host only answers on this machine. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\./.test(h);
}
