import type Dockerode from 'dockerode';
import { engineAuthConfig, engineRegistryError, isSousError, parseImageReference, registryClient, registryOfReference, resolveRegistryAuth, type BuildPlan, type RegistryConfig } from '@sous/core';
import { externalImages } from './dockerfile';
import { engineError } from './engine';
import { readMessages } from './stream';

/** The value recorded for a base image the engine does not have (yet). */
export const ABSENT = 'absent';

/**
 * Pulls a base image from a registry that wants credentials, with them
 * (X-Registry-Auth), as `docker pull` after `docker login` would. The
 * engine's own pull honours its certs.d and proxy settings, which not every
 * engine's BuildKit resolver does; a refusal is reported with its own code.
 */
export async function pullPrivate(docker: Dockerode, ref: string, config: RegistryConfig | undefined): Promise<boolean> {
  const host = registryOfReference(ref);
  const auth = await resolveRegistryAuth(host, config);
  if (!auth.credential) return false;
  let error: string | undefined;
  try {
    const stream = (await docker.pull(ref, { authconfig: engineAuthConfig(auth) })) as NodeJS.ReadableStream;
    await readMessages(stream as never, (m) => {
      if (m.errorDetail || m.error) error = m.errorDetail?.message || m.error;
    });
  } catch (e) {
    const mapped = engineError(docker, e);
    if (isSousError(mapped)) throw mapped;
    error = (e as { json?: { message?: string } }).json?.message ?? (e instanceof Error ? e.message : String(e));
  }
  if (!error) return true;
  let repository = ref;
  try {
    const p = parseImageReference(ref.startsWith(`${host}/`) ? ref : `${host}/${ref}`);
    repository = p.repository;
    // Ask the registry as Sous: it tells a wrong password from a denied name from an untrusted certificate.
    await registryClient(p.registry, config, { timeoutMs: 10_000 }).headManifest(p.repository, p.digest ?? p.tag ?? 'latest');
  } catch (e) {
    if (isSousError(e) && /^(REGISTRY_(UNAUTHORIZED|DENIED|TLS_|PROXY_|TOKEN_)|CREDENTIAL_HELPER_FAILED)/.test(e.code)) throw e;
  }
  const named = engineRegistryError(auth.host, repository, 'pull from', auth, error);
  if (named) throw named;
  // The build reports what is still wrong, as it would have without the pull.
  return false;
}

/**
 * The base images a plan builds on, as content-key inputs: `from:<ref>` → the
 * engine's image id for it, `absent` when it has none, or the digest itself
 * for a reference pinned by digest (its content cannot change). A base image
 * the engine lacks from a registry Sous has credentials for is pulled first.
 */
export async function baseImageInputs(docker: Dockerode, plan: Pick<BuildPlan, 'dockerfile' | 'buildArgs'>, config?: RegistryConfig): Promise<Record<string, string>> {
  const refs = externalImages(plan.dockerfile, plan.buildArgs);
  const inspect = async (ref: string): Promise<string | undefined> => {
    try {
      return (await docker.getImage(ref).inspect()).Id;
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode === 404) return undefined;
      throw engineError(docker, e);
    }
  };
  const entries = await Promise.all(
    refs.map(async (ref): Promise<[string, string]> => {
      const pinned = /@(sha256:[a-f0-9]{64})$/.exec(ref);
      let id = await inspect(ref);
      if (!id && (await pullPrivate(docker, ref, config))) id = await inspect(ref);
      if (pinned) return [`from:${ref}`, pinned[1]];
      return [`from:${ref}`, id ?? ABSENT];
    }),
  );
  return Object.fromEntries(entries);
}
