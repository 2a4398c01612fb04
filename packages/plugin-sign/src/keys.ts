import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { failure, usageError } from '@sous/core';

/** The environment variable the private key's passphrase is read from. */
export const PASSPHRASE_ENV = 'SOUS_SIGNING_PASSPHRASE';

/** A key pair made by `generateKeyPair`, as PEM text. */
export interface GeneratedKeyPair {
  /** PKCS#8, encrypted (PBES2, AES-256-CBC) when a passphrase was given. */
  privateKeyPem: string;
  /** SubjectPublicKeyInfo: the form `cosign verify --key` reads. */
  publicKeyPem: string;
  keyId: string;
  encrypted: boolean;
}

/** A public key signatures are checked with, and where it came from. */
export interface TrustedKey {
  key: crypto.KeyObject;
  keyId: string;
  /** The file it was read from, or `inline`. */
  source: string;
}

/**
 * The key's fingerprint: the first 16 hex digits of the SHA-256 of its DER
 * SubjectPublicKeyInfo. The same for the private key and its public half.
 */
export function keyIdOf(key: crypto.KeyObject): string {
  const pub = key.type === 'private' ? crypto.createPublicKey(key) : key;
  return crypto.createHash('sha256').update(pub.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16);
}

/** A new ECDSA P-256 key pair; the private key encrypted when a passphrase is given. */
export function generateKeyPair(opts: { passphrase?: string } = {}): GeneratedKeyPair {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const encrypted = Boolean(opts.passphrase);
  const privateKeyPem = encrypted
    ? privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: opts.passphrase! })
    : privateKey.export({ type: 'pkcs8', format: 'pem' });
  return { privateKeyPem: String(privateKeyPem), publicKeyPem: String(publicKey.export({ type: 'spki', format: 'pem' })), keyId: keyIdOf(publicKey), encrypted };
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Where `writeKeyPair` wrote the keys. */
export interface WrittenKeyPair {
  privateKey: string;
  publicKey: string;
  keyId: string;
  encrypted: boolean;
}

/**
 * Writes `<name>.key` (mode 0600) and `<name>.pub` into `dir`. Refuses to
 * overwrite either unless `force`; both appear together or neither does.
 */
export function writeKeyPair(opts: { dir: string; name: string; force?: boolean; passphrase?: string }): WrittenKeyPair {
  if (!NAME_RE.test(opts.name)) {
    throw usageError('INVALID_KEY_NAME', `${JSON.stringify(opts.name)} is not a key name: letters, digits, . _ - (at most 64)`, { hints: ['sous keys generate --name ci'] });
  }
  const dir = path.resolve(opts.dir);
  const privateKey = path.join(dir, `${opts.name}.key`);
  const publicKey = path.join(dir, `${opts.name}.pub`);
  if (!opts.force) {
    const there = [privateKey, publicKey].filter((p) => fs.existsSync(p));
    if (there.length) {
      throw usageError('KEY_EXISTS', `${there.join(' and ')} already exist${there.length === 1 ? 's' : ''}: refusing to overwrite a key`, {
        hints: ['Pick another --name or --out, or replace the key pair with --force (signatures made with the old key then no longer verify against the new one)'],
        details: { paths: there },
      });
    }
  }
  const pair = generateKeyPair({ passphrase: opts.passphrase });
  const tmp = (p: string) => path.join(dir, `.${path.basename(p)}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`);
  const written: string[] = [];
  const temps: string[] = [];
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tk = tmp(privateKey);
    const tp = tmp(publicKey);
    temps.push(tk, tp);
    fs.writeFileSync(tk, pair.privateKeyPem, { mode: 0o600, flag: 'wx' });
    fs.writeFileSync(tp, pair.publicKeyPem, { mode: 0o644, flag: 'wx' });
    for (const [t, final] of [
      [tk, privateKey],
      [tp, publicKey],
    ]) {
      // link() fails when the name exists, so a key someone made meanwhile is never replaced without --force.
      if (opts.force) fs.renameSync(t, final);
      else {
        fs.linkSync(t, final);
        fs.unlinkSync(t);
      }
      written.push(final);
    }
  } catch (e) {
    for (const p of [...temps, ...(opts.force ? [] : written)]) fs.rmSync(p, { force: true });
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EEXIST') throw usageError('KEY_EXISTS', `a key appeared at ${err.path ?? dir} while writing: refusing to overwrite it`, { hints: ['Run the command again, or use --force'] });
    throw usageError('KEY_WRITE_FAILED', `cannot write the key pair into ${dir}: ${err.message}`, { hints: ['Pick a directory you can write to with --out'], cause: e });
  }
  return { privateKey, publicKey, keyId: pair.keyId, encrypted: pair.encrypted };
}

/** Reads a key given as PEM text or as a path to a PEM file. */
function readPem(ref: string, what: string): { pem: string; source: string } {
  if (ref.trimStart().startsWith('-----BEGIN')) return { pem: ref, source: 'inline' };
  try {
    return { pem: fs.readFileSync(ref, 'utf8'), source: path.resolve(ref) };
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw usageError('KEY_UNREADABLE', `cannot read the ${what} ${ref}: ${err.code === 'ENOENT' ? 'no such file' : err.code === 'EACCES' ? 'permission denied' : err.message}`, {
      hints: ['Give the path of a PEM file (or the PEM text itself); make a key pair with: sous keys generate'],
      file: ref,
      cause: e,
    });
  }
}

function unreadable(source: string, what: string, why: string): never {
  throw usageError('KEY_UNREADABLE', `the ${what} ${source} is not usable: ${why}`, {
    hints: ['Sous signs with ECDSA P-256 keys in PEM (PKCS#8 private, SPKI public): make one with sous keys generate'],
    ...(source !== 'inline' ? { file: source } : {}),
  });
}

function requireP256(key: crypto.KeyObject, source: string, what: string): void {
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    unreadable(source, what, `it is a ${key.asymmetricKeyType}${key.asymmetricKeyDetails?.namedCurve ? ` ${key.asymmetricKeyDetails.namedCurve}` : ''} key, not ECDSA P-256`);
  }
}

/**
 * Loads the signing key. An encrypted key needs the passphrase
 * (KEY_PASSPHRASE_MISSING without one, KEY_PASSPHRASE_WRONG when it does
 * not open the key); anything else unusable is KEY_UNREADABLE.
 */
export function loadPrivateKey(ref: string, passphrase?: string): { key: crypto.KeyObject; keyId: string; source: string } {
  const { pem, source } = readPem(ref, 'signing key');
  if (/-----BEGIN ENCRYPTED (SIGSTORE|COSIGN) PRIVATE KEY-----/.test(pem)) {
    unreadable(source, 'signing key', "it is in cosign's own encrypted format, which Sous does not read");
  }
  if (!/-----BEGIN (ENCRYPTED |EC )?PRIVATE KEY-----/.test(pem)) unreadable(source, 'signing key', 'it holds no PEM private key');
  const encrypted = /-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(pem) || /Proc-Type:\s*4,ENCRYPTED/.test(pem);
  if (encrypted && !passphrase) {
    throw usageError('KEY_PASSPHRASE_MISSING', `the signing key ${source} is encrypted and no passphrase was given`, {
      hints: [`Set ${PASSPHRASE_ENV} to the key's passphrase`],
      ...(source !== 'inline' ? { file: source } : {}),
    });
  }
  let key: crypto.KeyObject;
  try {
    key = crypto.createPrivateKey(encrypted ? { key: pem, format: 'pem', passphrase } : { key: pem, format: 'pem' });
  } catch (e) {
    if (encrypted) {
      throw usageError('KEY_PASSPHRASE_WRONG', `the passphrase does not open the signing key ${source}`, {
        hints: [`Check ${PASSPHRASE_ENV}: it must be the passphrase the key was made with`],
        ...(source !== 'inline' ? { file: source } : {}),
        cause: e,
      });
    }
    unreadable(source, 'signing key', (e as Error).message);
  }
  requireP256(key, source, 'signing key');
  return { key, keyId: keyIdOf(key), source };
}

/** Loads one public key (PEM text or a path to a PEM file). */
export function loadPublicKey(ref: string): TrustedKey {
  const { pem, source } = readPem(ref, 'public key');
  if (!/-----BEGIN PUBLIC KEY-----/.test(pem)) unreadable(source, 'public key', 'it holds no PEM public key (-----BEGIN PUBLIC KEY-----)');
  let key: crypto.KeyObject;
  try {
    key = crypto.createPublicKey({ key: pem, format: 'pem' });
  } catch (e) {
    unreadable(source, 'public key', (e as Error).message);
  }
  requireP256(key, source, 'public key');
  return { key, keyId: keyIdOf(key), source };
}

/** Loads a list of trusted keys; refuses an empty list, since nothing could then verify. */
export function loadTrustedKeys(refs: readonly (string | TrustedKey)[]): TrustedKey[] {
  if (!refs.length) {
    throw usageError('NO_TRUSTED_KEYS', 'no trusted public keys to verify signatures with', {
      hints: ['Give one: sous verify IMAGE --key sous.pub', 'or list them in the config (trustedKeys) or on the cluster (TrustedKeys)'],
    });
  }
  return refs.map((r) => (typeof r === 'string' ? loadPublicKey(r) : r));
}

/** Whether the signature over `payload` verifies with `key` (ECDSA with SHA-256, ASN.1 DER signature). */
export function verifies(key: crypto.KeyObject, payload: Buffer, signature: Buffer): boolean {
  try {
    return crypto.verify('sha256', payload, key, signature);
  } catch {
    return false;
  }
}

/** An ECDSA SHA-256 signature (ASN.1 DER) over `payload`: what cosign makes and checks. */
export function signPayload(key: crypto.KeyObject, payload: Buffer): Buffer {
  try {
    return crypto.sign('sha256', payload, key);
  } catch (e) {
    throw failure('SIGN_FAILED', `signing failed: ${(e as Error).message}`, { cause: e });
  }
}
