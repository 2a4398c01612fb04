import type Dockerode from 'dockerode';
import { failure, isSousError, type Artifact, type Progress, type SousError } from '@sous/core';
import { repositoryOf } from './build';
import { engineError } from './engine';
import { registryDigest, registryUnreachable, splitRepository } from './registry';
import { readMessages } from './stream';

/** What the engine says when it could not talk to the registry at all (as opposed to being told no). */
const UNREACHABLE = /connection refused|no such host|i\/o timeout|network is unreachable|no route to host|connection reset|server misbehaving|TLS handshake timeout|dial tcp/i;

function pushError(host: string, ref: string, message: string): SousError {
  if (UNREACHABLE.test(message)) return registryUnreachable(host, message);
  return failure('PUSH_REFUSED', `the registry ${host} refused ${ref}: ${message}`, {
    hints: [
      'Check the registry accepts pushes to this name (permissions, a read-only or full registry)',
      'A registry that needs credentials wants a login the engine can use for it',
    ],
    details: { registry: host, reference: ref, error: message },
  });
}

/** Pushes one `registry/name:tag`; resolves to the manifest digest the engine pushed. */
export async function pushTag(docker: Dockerode, ref: string, onProgress?: (p: Progress) => void): Promise<string> {
  const repo = repositoryOf(ref);
  const tag = ref.slice(repo.length + 1);
  const { host } = splitRepository(repo);
  let digest: string | undefined;
  let error: string | undefined;
  const uploading = new Set<string>();
  try {
    const stream = (await docker.getImage(repo).push({ tag, authconfig: { serveraddress: host } })) as NodeJS.ReadableStream;
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
    throw pushError(host, ref, json?.message ?? (e instanceof Error ? e.message : String(e)));
  }
  if (error) throw pushError(host, ref, error);
  if (!digest) throw failure('PUSH_NO_DIGEST', `the engine pushed ${ref} but reported no digest`, { hints: ['Push it by hand to see what the engine says: docker push ' + ref] });
  return digest;
}

/**
 * Pushes every tag of the built image, then asks the registry for each tag's
 * digest: it must be the one the engine pushed. Sets the artifact's digest
 * and its `name@digest` reference. The tags are pushed one after the other
 * (a registry can fail two pushes of the same layers at once), and each is
 * confirmed while the next one pushes.
 */
export async function publishImage(docker: Dockerode, artifact: Artifact, onProgress?: (p: Progress) => void): Promise<void> {
  const { image } = artifact;
  if (!image.tags.length) throw failure('NOTHING_TO_PUSH', `the image ${image.name} has no tags to push`);
  // A process's first fetch loads its HTTP client, some 25 ms: while the engine pushes, not after.
  void fetch('data:,').then((r) => r.arrayBuffer(), () => undefined);
  const confirmations: Promise<{ ref: string; pushed: string; served: string }>[] = [];
  try {
    for (const ref of image.tags) {
      const pushed = await pushTag(docker, ref, onProgress);
      const repo = repositoryOf(ref);
      const confirmed = registryDigest(repo, ref.slice(repo.length + 1)).then((served) => ({ ref, pushed, served }));
      confirmed.catch(() => undefined);
      confirmations.push(confirmed);
    }
  } finally {
    // Nothing is reported while a confirmation is still under way.
    await Promise.allSettled(confirmations);
  }
  let digest: string | undefined;
  for (const confirmed of confirmations) {
    const { ref, pushed, served } = await confirmed;
    if (served !== pushed || (digest && digest !== pushed)) {
      throw failure('DIGEST_MISMATCH', `the registry serves ${ref} as ${served}, but the engine pushed ${pushed}${digest && digest !== pushed ? ` (and ${digest} for another tag)` : ''}`, {
        hints: ['Something else is pushing to the same name, or the registry rewrites manifests: push again, and check who else writes there'],
        details: { reference: ref, pushed, served },
      });
    }
    digest = pushed;
  }
  artifact.digest = digest!;
  artifact.image.digest = digest;
  artifact.reference = `${image.name}@${digest}`;
}
