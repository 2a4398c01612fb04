import * as crypto from 'node:crypto';
import { failure, isSousError, parseImageReference, registryClient, type RegistryClient, type RegistryConfig, usageError, type ImageManifest, type SousError } from '@sous/core';
import { COSIGN, parsePayload, SOUS_ANNOTATIONS, signatureTag } from './cosign';
import { keyIdOf, loadTrustedKeys, verifies, type TrustedKey } from './keys';

/** What to verify, against which keys. */
export interface VerifyImageOptions {
  /** registry/repository[:tag][@digest]. */
  image: string;
  /** The manifest digest to verify; taken from `image`, or resolved from its tag (default `latest`). */
  digest?: string;
  /** Trusted public keys: PEM text, paths to PEM files, or loaded keys. */
  keys: readonly (string | TrustedKey)[];
  client?: RegistryClient;
  /** Hosts spoken to over plain HTTP or unverified TLS besides those the config marks insecure. */
  insecure?: readonly string[];
  /** The resolved config: each registry's credentials and TLS settings. */
  config?: RegistryConfig;
}

/** One signature that verified. */
export interface VerifiedSignature {
  keyId: string;
  /** Where the trusted key came from (a file, or `inline`). */
  keySource: string;
  payloadDigest: string;
  dockerReference: string;
  /** The payload's `optional` section: Sous puts its version and the contract results there. */
  optional: Record<string, unknown>;
}

/** A verified image: which digest, where its signatures are, and who signed. */
export interface SignatureVerification {
  image: string;
  digest: string;
  tag: string;
  signatureDigest: string;
  signatures: VerifiedSignature[];
}

/** How one signature layer failed, for the report. */
interface LayerFailure {
  code: string;
  message: string;
  keyId?: string;
  payloadDigest: string;
}

// When every signature fails, the one that got furthest through the checks explains the refusal best.
const RANK = ['SIGNATURE_PAYLOAD_CORRUPT', 'SIGNATURE_INVALID', 'SIGNATURE_UNTRUSTED', 'SIGNATURE_DIGEST_MISMATCH'];

const HINTS: Record<string, string[]> = {
  SIGNATURE_PAYLOAD_CORRUPT: ['The signature storage was damaged or written by something else: sign the image again'],
  SIGNATURE_INVALID: ['The signature bytes do not match the payload: it was altered after signing. Sign the image again'],
  SIGNATURE_UNTRUSTED: ['Trust the signer (sous verify --key, config trustedKeys, or the cluster TrustedKeys), or sign with a trusted key'],
  SIGNATURE_DIGEST_MISMATCH: ['The signature was made for another image and copied here: this image was never signed. Do not deploy it'],
};

function fromB64(s: string): Buffer | undefined {
  const t = s.trim();
  if (!t || !/^[A-Za-z0-9+/]+={0,2}$/.test(t) || t.length % 4 !== 0) return undefined;
  return Buffer.from(t, 'base64');
}

/** The key a signature layer says it was made with, when it says. */
function embeddedKey(pem: string | undefined): crypto.KeyObject | undefined {
  if (!pem) return undefined;
  try {
    return crypto.createPublicKey({ key: pem, format: 'pem' });
  } catch {
    return undefined;
  }
}

/**
 * Checks an image's cosign signatures against trusted keys. Resolves when at
 * least one signature by a trusted key names this digest; otherwise throws
 * SIGNATURE_MISSING, SIGNATURE_PAYLOAD_CORRUPT, SIGNATURE_INVALID,
 * SIGNATURE_UNTRUSTED or SIGNATURE_DIGEST_MISMATCH (every signature's own
 * failure in details.signatures).
 */
export async function verifyImageSignature(opts: VerifyImageOptions): Promise<SignatureVerification> {
  const ref = parseImageReference(opts.image);
  const keys = loadTrustedKeys(opts.keys);
  const client = opts.client ?? registryClient(ref.registry, opts.config, { insecure: opts.insecure });
  const repo = ref.repository;
  const name = `${ref.registry}/${repo}`;
  let digest = opts.digest ?? ref.digest;
  if (opts.digest && ref.digest && opts.digest !== ref.digest) {
    throw usageError('DIGEST_CONFLICT', `${opts.image} names ${ref.digest}, but ${opts.digest} was asked for`, { hints: ['Give the digest once'] });
  }
  // A tag is resolved by fetching the manifest: its digest is then computed from its bytes, not taken on the registry's word.
  if (!digest) digest = (await client.getManifest(repo, ref.tag ?? 'latest')).digest;
  const tag = signatureTag(digest);
  let sigManifest;
  try {
    sigManifest = await client.getManifest(repo, tag);
  } catch (e) {
    if (isSousError(e) && e.code === 'MANIFEST_UNKNOWN') {
      throw failure('SIGNATURE_MISSING', `${name}@${digest} is not signed: ${name} has no ${tag}`, {
        hints: ['Sign images at build time: set signingKey in the config (make one with sous keys generate), then build again'],
        details: { image: name, digest, tag },
      });
    }
    throw e;
  }
  const layers = ((sigManifest.json as ImageManifest).layers ?? []).filter((l) => l.mediaType === COSIGN.payloadMediaType);
  if (!layers.length) {
    throw failure('SIGNATURE_MISSING', `${name}:${tag} holds no cosign signature`, { hints: HINTS.SIGNATURE_PAYLOAD_CORRUPT, details: { image: name, digest, tag } });
  }

  const ok: VerifiedSignature[] = [];
  const failed: LayerFailure[] = [];
  for (const l of layers) {
    const where = `${name}@${l.digest}`;
    const fail = (code: string, message: string, keyId?: string) => failed.push({ code, message, payloadDigest: l.digest, ...(keyId ? { keyId } : {}) });
    let payload: Buffer;
    let parsed;
    try {
      payload = await client.readBlob(repo, l.digest);
      parsed = parsePayload(payload, where);
    } catch (e) {
      const se = e as SousError;
      if (isSousError(e) && ['DIGEST_MISMATCH', 'BLOB_UNKNOWN', 'SIGNATURE_PAYLOAD_CORRUPT'].includes(se.code)) {
        fail('SIGNATURE_PAYLOAD_CORRUPT', se.code === 'SIGNATURE_PAYLOAD_CORRUPT' ? se.message : `the signed payload ${where} cannot be read intact: ${se.message}`);
        continue;
      }
      throw e;
    }
    const sig = fromB64(l.annotations?.[COSIGN.signatureAnnotation] ?? '');
    if (!sig) {
      fail('SIGNATURE_INVALID', `the signature of ${where} is missing or not base64`);
      continue;
    }
    const trusted = keys.find((k) => verifies(k.key, payload, sig));
    if (!trusted) {
      const signer = embeddedKey(l.annotations?.[SOUS_ANNOTATIONS.publicKey]);
      if (signer && verifies(signer, payload, sig)) {
        const id = keyIdOf(signer);
        fail('SIGNATURE_UNTRUSTED', `${name}@${digest} is signed by key ${id}, which is not trusted (trusted: ${keys.map((k) => k.keyId).join(', ')})`, id);
      } else {
        fail('SIGNATURE_INVALID', `the signature of ${where} does not verify with any trusted key (${keys.map((k) => k.keyId).join(', ')})`, l.annotations?.[SOUS_ANNOTATIONS.keyId]);
      }
      continue;
    }
    const named = parsed.critical.image['docker-manifest-digest'];
    if (named !== digest) {
      fail('SIGNATURE_DIGEST_MISMATCH', `the signature under ${tag} was made for ${named}, not for ${digest}`, trusted.keyId);
      continue;
    }
    ok.push({ keyId: trusted.keyId, keySource: trusted.source, payloadDigest: l.digest, dockerReference: parsed.critical.identity?.['docker-reference'] ?? '', optional: (parsed.optional ?? {}) as Record<string, unknown> });
  }
  if (!ok.length) {
    const worst = failed.reduce((a, b) => (RANK.indexOf(b.code) > RANK.indexOf(a.code) ? b : a));
    throw failure(worst.code, worst.message, { hints: HINTS[worst.code] ?? [], details: { image: name, digest, tag, signatures: failed } });
  }
  return { image: name, digest, tag, signatureDigest: sigManifest.digest, signatures: ok };
}
