import { failure, type SousError } from '@sous/core';

/** The manifest types a registry must answer with so its digest is the one the engine pushed. */
export const MANIFEST_ACCEPT = 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json';

/** A reference split into the registry host and the repository path on it. */
export interface RegistryRef {
  host: string;
  repository: string;
}

/** `host[:port]/path/name` → { host, repository }; references without a registry host are Docker Hub's. */
export function splitRepository(repo: string): RegistryRef {
  const slash = repo.indexOf('/');
  const first = slash < 0 ? '' : repo.slice(0, slash);
  if (first && (first.includes('.') || first.includes(':') || first === 'localhost')) return { host: first, repository: repo.slice(slash + 1) };
  return { host: 'docker.io', repository: repo.includes('/') ? repo : `library/${repo}` };
}

/** Loopback registries speak plain HTTP (the engine allows them insecure); others HTTPS. */
export function registryBaseURL(host: string): string {
  const name = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  const loopback = name === 'localhost' || /^127\./.test(name) || name === '::1';
  if (host === 'docker.io') return 'https://registry-1.docker.io';
  return `${loopback ? 'http' : 'https'}://${host}`;
}

/** The registry does not answer at all. */
export function registryUnreachable(host: string, why: string, cause?: unknown): SousError {
  return failure('REGISTRY_UNREACHABLE', `the registry ${host} cannot be reached: ${why}`, {
    cause,
    hints: [
      'Start the local registry: node scripts/local-engine.js start (it listens on 127.0.0.1:5000)',
      'Or point Sous at a running one: SOUS_DOCKER_REGISTRY_HOST=HOST:PORT, `registry` in the config, or DockerRepo in defs.yaml',
    ],
    details: { registry: host },
  });
}

/**
 * The digest the registry serves for `repo:tag`, asked the way that gives
 * the v2/OCI manifest's digest (`HEAD /v2/<name>/manifests/<tag>`).
 */
export async function registryDigest(repo: string, tag: string, opts: { timeoutMs?: number } = {}): Promise<string> {
  const { host, repository } = splitRepository(repo);
  const url = `${registryBaseURL(host)}/v2/${repository}/manifests/${encodeURIComponent(tag)}`;
  let res: Response;
  try {
    res = await fetch(url, { method: 'HEAD', headers: { Accept: MANIFEST_ACCEPT }, signal: AbortSignal.timeout(opts.timeoutMs ?? 15000) });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw registryUnreachable(host, cause?.code ?? cause?.message ?? (e as Error).message, e);
  }
  const digest = res.headers.get('docker-content-digest');
  if (res.status !== 200 || !digest) {
    throw failure('DIGEST_UNCONFIRMED', `the registry ${host} does not confirm ${repository}:${tag} after the push (HTTP ${res.status}${digest ? '' : ', no Docker-Content-Digest'})`, {
      hints: ['Check the registry serves the Docker Registry HTTP API v2 and that it allows anonymous reads of what it just accepted'],
      details: { registry: host, status: res.status },
    });
  }
  return digest;
}
