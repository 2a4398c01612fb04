import type Dockerode from 'dockerode';
import { engineAuthConfig, engineRegistryError, failure, isSousError, registryClient, resolveRegistryAuth, type Artifact, type Progress, type RegistryAuth, type RegistryClient, type RegistryConfig, type SousError } from '@sous/core';
import { repositoryOf } from './build';
import { engineError } from './engine';
import { registryUnreachable, splitRepository } from './registry';
import { readMessages } from './stream';

/** What the engine says when it could not talk to the registry at all (as opposed to being told no). */
const UNREACHABLE = /connection refused|no such host|i\/o timeout|network is unreachable|no route to host|connection reset|server misbehaving|TLS handshake timeout|dial tcp/i;

function pushError(host: string, ref: string, message: string, auth?: RegistryAuth): SousError {
  if (UNREACHABLE.test(message)) return registryUnreachable(host, message);
  const named = auth && engineRegistryError(host, splitRepository(repositoryOf(ref)).repository, 'push to', auth, message);
  if (named) return named;
  return failure('PUSH_REFUSED', `the registry ${host} refused ${ref}: ${message}`, {
    hints: [
      'Check the registry accepts pushes to this name (permissions, a read-only or full registry)',
      'A registry that needs credentials wants a login the engine can use for it',
    ],
    details: { registry: host, reference: ref, error: message },
  });
}

/**
 * Pushes one `registry/name:tag` with the registry's credentials in
 * X-Registry-Auth (resolveRegistryAuth); resolves to the manifest digest the
 * engine pushed.
 */
export async function pushTag(docker: Dockerode, ref: string, onProgress?: (p: Progress) => void, config?: RegistryConfig): Promise<string> {
  const repo = repositoryOf(ref);
  const tag = ref.slice(repo.length + 1);
  const { host } = splitRepository(repo);
  const auth = await resolveRegistryAuth(host, config);
  let digest: string | undefined;
  let error: string | undefined;
  const uploading = new Set<string>();
  try {
    const stream = (await docker.getImage(repo).push({ tag, authconfig: engineAuthConfig(auth) })) as NodeJS.ReadableStream;
    await readMessages(stream as never, (m) => {
      if (m.errorDetail || m.error) error = m.errorDetail?.message || m.error;
      const aux = m.aux as { Digest?: string } | undefined;
      if (aux?.Digest) digest = aux.Digest;
      if (m.id && m.status && !uploading.has(`${m.id}${m.status}`) && /^(Pushed|Layer already exists|Mounted from)/.test(m.status)) {
        uploading.add(`${m.id}${m.status}`);
        onProgress?.({ phase: 'publish', message: `${ref}: ${m.id} ${m.status}` });
      }
    });
  } catch (e) {
    const mapped = engineError(docker, e);
    if (isSousError(mapped)) throw mapped;
    const json = (e as { json?: { message?: string } }).json;
    error = json?.message ?? (e instanceof Error ? e.message : String(e));
  }
  if (error) {
    // The engine's words cannot tell a wrong password from a name the account may not push to, or a token service that is down: ask the registry as Sous.
    if (!UNREACHABLE.test(error)) {
      try {
        await registryClient(host, config).checkPush(splitRepository(repo).repository);
      } catch (e) {
        if (isSousError(e) && /^(REGISTRY_(UNAUTHORIZED|DENIED|TLS_|PROXY_|TOKEN_)|CREDENTIAL_HELPER_FAILED)/.test(e.code)) throw e;
      }
    }
    throw pushError(host, ref, error, auth);
  }
  if (!digest) throw failure('PUSH_NO_DIGEST', `the engine pushed ${ref} but reported no digest`, { hints: ['Push it by hand to see what the engine says: docker push ' + ref] });
  return digest;
}

/** A registry's answer to a manifest request, mapped to the push's own errors. */
function registryError(host: string, ref: string, e: unknown): SousError {
  if (isSousError(e) && e.code === 'REGISTRY_UNREACHABLE') return registryUnreachable(host, String(e.details?.reason ?? e.message), e);
  // Credentials, access, TLS and proxies keep their own codes: they say what to fix.
  if (isSousError(e) && /^REGISTRY_(UNAUTHORIZED|DENIED|TLS_|PROXY_|TOKEN_)/.test(e.code)) return e;
  if (isSousError(e) && e.code === 'REGISTRY_REFUSED') return pushError(host, ref, e.message);
  return isSousError(e) ? e : pushError(host, ref, e instanceof Error ? e.message : String(e));
}

/**
 * Publishes the built image. When the artifact has no digest yet, the engine
 * pushes its first tag (layers, config, manifest); the registry is then asked
 * for that tag's manifest, which must be the one the engine pushed
 * (DIGEST_MISMATCH otherwise). Every other tag, and every tag of an artifact
 * already published (a build adds its version tag once the contracts pass),
 * is the same manifest bytes stored by the registry under that tag. Sets the
 * artifact's digest and its `name@digest` reference.
 */
export async function publishImage(docker: Dockerode, artifact: Artifact, onProgress?: (p: Progress) => void, config?: RegistryConfig): Promise<void> {
  const { image } = artifact;
  if (!image.tags.length) throw failure('NOTHING_TO_PUSH', `the image ${image.name} has no tags to push`);
  // A process's first fetch loads its HTTP client, some 25 ms: while the engine pushes, not after.
  void fetch('data:,').then((r) => r.arrayBuffer(), () => undefined);
  const known = artifact.digest || undefined;
  const [first, ...others] = image.tags;
  const repo = repositoryOf(first);
  const { host, repository } = splitRepository(repo);
  const client = registryClient(host, config);
  // While the engine pushes: the connection, TLS and the registry's auth challenge (and a push token) for the tagging after it.
  const ready = client.prepare(repository);
  const pushed = known ?? (await pushTag(docker, first, onProgress, config));
  await ready;
  const reference = known ?? first.slice(repo.length + 1);
  let manifest: Awaited<ReturnType<RegistryClient['getManifest']>>;
  try {
    manifest = await client.getManifest(repository, reference);
  } catch (e) {
    if (isSousError(e) && e.code === 'MANIFEST_UNKNOWN') {
      const where = known ? `${repo}@${known}` : first;
      throw failure('DIGEST_UNCONFIRMED', `the registry ${host} does not have ${where}${known ? '' : ' right after the push'}`, {
        hints: ['Something removed it, or the registry is eventually consistent: push again and check the registry'],
        details: { registry: host, reference: where },
      });
    }
    throw registryError(host, first, e);
  }
  if (manifest.digest !== pushed) {
    throw failure('DIGEST_MISMATCH', `the registry serves ${first} as ${manifest.digest}, but the engine pushed ${pushed}`, {
      hints: ['Something else is pushing to the same name, or the registry rewrites manifests: push again, and check who else writes there'],
      details: { reference: first, pushed, served: manifest.digest },
    });
  }
  for (const ref of known ? image.tags : others) {
    const r = repositoryOf(ref);
    if (r !== repo) throw failure('TAGS_SPLIT', `the image's tags name two repositories (${repo} and ${r})`, { hints: ['Core names one repository per image: a plugin changed the tags'] });
    try {
      await client.putManifest(repository, ref.slice(r.length + 1), manifest.bytes, manifest.mediaType);
    } catch (e) {
      throw registryError(host, ref, e);
    }
    onProgress?.({ phase: 'publish', message: `${ref}: tagged ${pushed.slice(0, 19)}` });
  }
  artifact.digest = pushed;
  artifact.image.digest = pushed;
  artifact.reference = `${image.name}@${pushed}`;
}
