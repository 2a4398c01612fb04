/**
 * The signature format cosign writes and `cosign verify --key` checks: a
 * "simple signing" JSON payload naming the image's manifest digest, signed
 * with ECDSA/SHA-256, stored as one layer of an OCI image manifest tagged
 * `sha256-<hex>.sig` in the image's own repository, the base64 signature in
 * the layer's `dev.cosignproject.cosign/signature` annotation.
 */
import { digestOf, failure, MEDIA_TYPES, type Descriptor } from '@sous/core';

export const COSIGN = Object.freeze({
  payloadMediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
  signatureAnnotation: 'dev.cosignproject.cosign/signature',
  payloadType: 'cosign container image signature',
  tagSuffix: 'sig',
});

/** Layer annotations Sous adds beside cosign's; cosign ignores them. */
export const SOUS_ANNOTATIONS = Object.freeze({
  /** The signer's key id, for reports. */
  keyId: 'dev.sous.key-id',
  /** The signer's public key (PEM), so a valid signature by an untrusted key can be told from a broken one. */
  publicKey: 'dev.sous.public-key',
});

/** Keys Sous puts in the payload's `optional` section (all string values, as `cosign sign -a` makes them). */
export const OPTIONAL_KEYS = Object.freeze({
  sousVersion: 'sous.version',
  source: 'sous.source',
  version: 'sous.artifact-version',
  revision: 'sous.revision',
  /** Followed by the contract's name: `sous.contract.health` = `passed`. */
  contractPrefix: 'sous.contract.',
});

/** The simple signing payload, as cosign's `payload.SimpleContainerImage`. */
export interface SimpleSigningPayload {
  critical: {
    identity: { 'docker-reference': string };
    image: { 'docker-manifest-digest': string };
    type: string;
  };
  optional: Record<string, unknown> | null;
}

/** The tag cosign stores an image's signatures under: `sha256-<hex>.sig`. */
export function signatureTag(digest: string): string {
  const [alg, hex] = digest.split(':');
  return `${alg}-${hex}.${COSIGN.tagSuffix}`;
}

/** The payload bytes to sign: cosign's field order, `optional` keys sorted as Go sorts map keys. */
export function makePayload(dockerReference: string, digest: string, optional: Record<string, string>): Buffer {
  const sorted = Object.fromEntries(Object.entries(optional).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const p: SimpleSigningPayload = {
    critical: { identity: { 'docker-reference': dockerReference }, image: { 'docker-manifest-digest': digest }, type: COSIGN.payloadType },
    optional: sorted,
  };
  return Buffer.from(JSON.stringify(p), 'utf8');
}

function corrupt(where: string, why: string): never {
  throw failure('SIGNATURE_PAYLOAD_CORRUPT', `the signed payload ${where} is not a cosign signature payload: ${why}`, {
    hints: ['The signature storage was damaged or written by something else: sign the image again'],
  });
}

/** Parses and checks a payload's shape; anything else is SIGNATURE_PAYLOAD_CORRUPT. */
export function parsePayload(bytes: Buffer, where: string): SimpleSigningPayload {
  let p: SimpleSigningPayload;
  try {
    p = JSON.parse(bytes.toString('utf8')) as SimpleSigningPayload;
  } catch (e) {
    corrupt(where, `it is not JSON (${(e as Error).message})`);
  }
  if (!p || typeof p !== 'object' || !p.critical || typeof p.critical !== 'object') corrupt(where, 'it has no "critical" section');
  const digest = p.critical.image?.['docker-manifest-digest'];
  if (typeof digest !== 'string' || !digest) corrupt(where, 'it names no docker-manifest-digest');
  if (p.critical.type !== COSIGN.payloadType) corrupt(where, `its type is ${JSON.stringify(p.critical.type)}, not ${JSON.stringify(COSIGN.payloadType)}`);
  if (p.optional !== undefined && p.optional !== null && typeof p.optional !== 'object') corrupt(where, '"optional" is not an object');
  return p;
}

/** A blob to store: its bytes and the descriptor naming them. */
export interface Blob {
  descriptor: Descriptor;
  bytes: Buffer;
}

/** The payload as a signature layer, with the signature and Sous's annotations. */
export function signatureLayer(payload: Buffer, signatureB64: string, keyId: string, publicKeyPem: string): Blob {
  return {
    bytes: payload,
    descriptor: {
      mediaType: COSIGN.payloadMediaType,
      size: payload.length,
      digest: digestOf(payload),
      annotations: { [COSIGN.signatureAnnotation]: signatureB64, [SOUS_ANNOTATIONS.keyId]: keyId, [SOUS_ANNOTATIONS.publicKey]: publicKeyPem },
    },
  };
}

/**
 * The signature image for a list of signature layers: an OCI manifest whose
 * config is the image config go-containerregistry writes for such an image
 * (the layers' digests as diff ids, one history entry per layer).
 */
export function signatureImage(layers: Descriptor[], created: string): { config: Blob; manifest: Buffer } {
  const cfg = Buffer.from(
    JSON.stringify({
      architecture: '',
      created,
      history: layers.map(() => ({ created: '0001-01-01T00:00:00Z' })),
      os: '',
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
      config: {},
    }),
    'utf8',
  );
  const config: Blob = { bytes: cfg, descriptor: { mediaType: MEDIA_TYPES.ociConfig, size: cfg.length, digest: digestOf(cfg) } };
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociManifest,
      config: config.descriptor,
      layers: layers.map((l) => ({ mediaType: l.mediaType, size: l.size, digest: l.digest, ...(l.annotations ? { annotations: l.annotations } : {}) })),
    }),
    'utf8',
  );
  return { config, manifest };
}
