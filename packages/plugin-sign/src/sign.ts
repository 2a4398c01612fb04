import * as crypto from 'node:crypto';
import { digestOf, failure, isSousError, parseImageReference, registryClient, type RegistryClient, type RegistryConfig, type Descriptor, type ImageManifest, type SousError } from '@sous/core';
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
  /** Hosts spoken to over plain HTTP or unverified TLS besides those the config marks insecure. */
  insecure?: readonly string[];
  /** The resolved config: each registry's credentials and TLS settings. */
  config?: RegistryConfig;
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

/** What ECR (and registries like it) answer to a PUT of a tag that exists in a repository with immutable tags. */
function isImmutableRefusal(e: SousError): boolean {
  const errors = (e.details?.errors ?? []) as { code?: string; message?: string }[];
  return errors.some((x) => x.code === 'TAG_INVALID' || /immutable|cannot be overwritten|already exists/i.test(x.message ?? '')) || /immutable|cannot be overwritten/i.test(e.message);
}

function immutable(e: SousError, where: string, existing: number): SousError {
  return failure('SIGNATURE_TAG_IMMUTABLE', `${where} already holds ${existing} signature(s), and the registry keeps tags immutable: it refused the manifest with one more (${e.message})`, {
    hints: [
      'The signatures already there still verify; nothing was overwritten',
      'ECR: exclude signature tags from immutability (tag mutability IMMUTABLE_WITH_EXCLUSION, filter *.sig), or sign each image with one key',
    ],
    details: { ...e.details, tag: where, existing },
    cause: e,
  });
}

/**
 * Signs an image's manifest digest the way `cosign sign --key` does and
 * stores the signature next to the image. Signatures already there (other
 * keys, earlier runs) are kept: a second signature is added to the `.sig`
 * manifest as cosign adds it, one more layer; signing the same payload with
 * the same key again pushes nothing. A registry with immutable tags refuses
 * the second: SIGNATURE_TAG_IMMUTABLE, the first left as it was.
 */
export async function signImage(opts: SignImageOptions): Promise<SignImageResult> {
  const ref = parseImageReference(opts.image);
  const client = opts.client ?? registryClient(ref.registry, opts.config, { insecure: opts.insecure });
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
    if (kept.length && isSousError(e) && e.code === 'REGISTRY_REFUSED' && isImmutableRefusal(e)) throw immutable(e, `${ref.registry}/${repo}:${tag}`, kept.length);
    if (isSousError(e) && e.code === 'REGISTRY_REFUSED') throw pushRefused(e, `${repo}:${tag}`);
    throw e;
  }
  return { tag, digest, keyId, reused: false, payload };
}
