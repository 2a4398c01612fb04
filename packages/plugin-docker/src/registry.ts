import { canonicalRegistry, failure, type SousError } from '@sous/core';

/** A reference split into the registry host and the repository path on it. */
export interface RegistryRef {
  host: string;
  repository: string;
}

/** `host[:port]/path/name` → { host, repository }; references without a registry host are Docker Hub's. */
export function splitRepository(repo: string): RegistryRef {
  const slash = repo.indexOf('/');
  const first = slash < 0 ? '' : repo.slice(0, slash);
  if (first && (first.includes('.') || first.includes(':') || first === 'localhost')) return { host: canonicalRegistry(first), repository: repo.slice(slash + 1) };
  return { host: 'docker.io', repository: repo.includes('/') ? repo : `library/${repo}` };
}

const REGISTRY_HINTS = [
  'Start the local registry: node scripts/local-engine.js start (it listens on 127.0.0.1:5000)',
  'Or point Sous at a running one: SOUS_DOCKER_REGISTRY_HOST=HOST:PORT, `registry` in the config, or DockerRepo in defs.yaml',
];

/** The registry does not answer at all. */
export function registryUnreachable(host: string, why: string, cause?: unknown): SousError {
  return failure('REGISTRY_UNREACHABLE', `the registry ${host} cannot be reached: ${why}`, { cause, hints: REGISTRY_HINTS, details: { registry: host } });
}
