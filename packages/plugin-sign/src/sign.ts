import * as crypto from 'node:crypto';
import { digestOf, failure, isSousError, parseImageReference, RegistryClient, type Descriptor, type ImageManifest, type SousError } from '@sous/core';
import { COSIGN, makePayload, signatureImage, signatureLayer, signatureTag } from './cosign';
import { keyIdOf, signPayload, verifies } from './keys';

/** What to sign, with which key. */
export interface SignImageOptions {
  /** registry/repository of the image (a tag or digest on it is ignored). */
  image: string;
  /** The image's manifest digest: what the signature is about. */
  digest: string;
  key: crypto.KeyObject;
  /** String annotations for the payload's `optional` section. */
  optional?: Record<string, string>;
  client?: RegistryClient;
  insecure?: readonly string[];
  /** The signature image's creation time (default: now). */
  created?: string;
}

/** Where a signature was stored. */
export interface SignImageResult {
  /** The `sha256-<hex>.sig` tag. */
  tag: string;
  /** The digest of the signature manifest under that tag. */
  digest: string;
  keyId: string;
  /** True when an identical signature by the same key was already there, and nothing was pushed. */
  reused: boolean;
  payload: Buffer;
}

function pushRefused(e: SousError, where: string): SousError {
  return failure('SIGN_PUSH_REFUSED', `the registry refused the signature ${where}: ${e.message}`, {
    hints: ['The signing account needs push rights on the repository, tags included (sha256-….sig)', ...e.hints],
    details: { ...e.details },
    cause: e,
  });
}

/**
 * Signs an image's manifest digest the way `cosign sign --key` does and
 * stores the signature next to the image. Signatures already there (other
 * keys, earlier runs) are kept; signing the same payload with the same key
 * again pushes nothing.
 */
export async function signImage(opts: SignImageOptions): Promise<SignImageResult> {
  const ref = parseImageReference(opts.image);
  const client = opts.client ?? new RegistryClient(ref.registry, { insecure: opts.insecure });
  const repo = ref.repository;
  if (!(await client.headManifest(repo, opts.digest))) {
    throw failure('MANIFEST_UNKNOWN', `${ref.registry}/${repo}@${opts.digest} does not exist: there is nothing to sign`, { details: { image: opts.image, digest: opts.digest } });
  }
  const payload = makePayload(`${ref.registry}/${repo}`, opts.digest, opts.optional ?? {});
  const pub = crypto.createPublicKey(opts.key);
  const keyId = keyIdOf(pub);
  const tag = signatureTag(opts.digest);

  let kept: Descriptor[] = [];
  try {
    const existing = await client.getManifest(repo, tag);
    const layers = ((existing.json as ImageManifest).layers ?? []).filter((l) => l.mediaType === COSIGN.payloadMediaType);
    const payloadDigest = digestOf(payload);
    for (const l of layers) {
      const sig = l.annotations?.[COSIGN.signatureAnnotation];
      if (l.digest === payloadDigest && sig && verifies(pub, payload, Buffer.from(sig, 'base64'))) {
        return { tag, digest: existing.digest, keyId, reused: true, payload };
      }
    }
    kept = layers;
  } catch (e) {
    if (!isSousError(e) || e.code !== 'MANIFEST_UNKNOWN') throw e;
  }

  const signature = signPayload(opts.key, payload).toString('base64');
  const layer = signatureLayer(payload, signature, keyId, String(pub.export({ type: 'spki', format: 'pem' })));
  const { config, manifest } = signatureImage([...kept, layer.descriptor], opts.created ?? new Date().toISOString());
  try {
    for (const b of [layer, config]) {
      if ((await client.headBlob(repo, b.descriptor.digest)) === undefined) await client.pushBlob(repo, b.descriptor.digest, b.bytes);
    }
  } catch (e) {
    if (isSousError(e) && e.code === 'REGISTRY_REFUSED') throw pushRefused(e, `payload for ${repo}`);
    throw e;
  }
  let digest: string;
  try {
    digest = await client.putManifest(repo, tag, manifest, 'application/vnd.oci.image.manifest.v1+json');
  } catch (e) {
    if (isSousError(e) && e.code === 'REGISTRY_REFUSED') throw pushRefused(e, `${repo}:${tag}`);
    throw e;
  }
  return { tag, digest, keyId, reused: false, payload };
}
