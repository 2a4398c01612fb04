import * as crypto from 'node:crypto';

/** The password of the truststore the stack hands to keytool (a truststore holds no secrets). */
export const TRUSTSTORE_PASSWORD = 'changeit';

/** The DER bytes of every certificate in a PEM bundle. */
export function pemCertificates(pem: string): Buffer[] {
  const out: Buffer[] = [];
  for (const m of pem.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)) {
    out.push(Buffer.from(m[1].replace(/\s+/g, ''), 'base64'));
  }
  return out;
}

function utf(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
}

/**
 * A JKS truststore holding the given certificates as trusted entries
 * (sous-ca-1, sous-ca-2, ...). Java cannot read a PEM bundle as a
 * truststore, and importing one keystore costs one keytool run where
 * importing each certificate would cost one per certificate.
 */
export function jksTruststore(certs: Buffer[], password = TRUSTSTORE_PASSWORD): Buffer {
  const parts: Buffer[] = [];
  const head = Buffer.alloc(12);
  head.writeUInt32BE(0xfeedfeed, 0);
  head.writeUInt32BE(2, 4);
  head.writeUInt32BE(certs.length, 8);
  parts.push(head);
  certs.forEach((der, i) => {
    const tag = Buffer.alloc(4);
    tag.writeUInt32BE(2);
    // A fixed date keeps the file (and the build layer that imports it) the same from build to build.
    const date = Buffer.alloc(8);
    date.writeBigUInt64BE(0n);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(der.length);
    parts.push(tag, utf(`sous-ca-${i + 1}`), date, utf('X.509'), len, der);
  });
  const body = Buffer.concat(parts);
  // JKS integrity check: SHA-1 over the password (UTF-16BE), the phrase "Mighty Aphrodite", then the body.
  const digest = crypto.createHash('sha1').update(Buffer.from(password, 'utf16le').swap16()).update('Mighty Aphrodite', 'utf8').update(body).digest();
  return Buffer.concat([body, digest]);
}
