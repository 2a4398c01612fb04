import { usageError } from '../errors';
import { isDigest } from './digest';

/** An image in a registry: `registry/repository[:tag][@digest]`. */
export interface ImageReference {
  /** host[:port] of the registry. */
  registry: string;
  /** The repository path inside the registry, e.g. acme/shop/api. */
  repository: string;
  tag?: string;
  digest?: string;
}

// The distribution spec's grammar for repository path components and tags.
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;

function bad(ref: string, why: string): never {
  throw usageError('INVALID_IMAGE_REFERENCE', `${JSON.stringify(ref)} is not an image reference: ${why}`, {
    hints: ['Write registry/repository[:tag][@sha256:digest], e.g. registry.acme.com:5000/acme/shop@sha256:…'],
  });
}

/** Whether a registry host[:port] is checked as one (lowercase rules do not apply to it). */
export function isRegistryHost(s: string): boolean {
  return HOST.test(s);
}

/**
 * Parses `registry/repository[:tag][@digest]`. The registry part is required:
 * Sous always names the registry an image lives in.
 */
export function parseImageReference(ref: string): ImageReference {
  let rest = ref.trim();
  if (!rest) bad(ref, 'it is empty');
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isDigest(digest)) bad(ref, `${JSON.stringify(digest)} is not a sha256 digest`);
  }
  const slash = rest.indexOf('/');
  if (slash < 0) bad(ref, 'it names no registry host (registry/repository)');
  const registry = rest.slice(0, slash);
  let path = rest.slice(slash + 1);
  if (!(registry.includes('.') || registry.includes(':') || registry === 'localhost') || !isRegistryHost(registry)) {
    bad(ref, `${JSON.stringify(registry)} is not a registry host[:port]`);
  }
  let tag: string | undefined;
  const colon = path.lastIndexOf(':');
  if (colon >= 0) {
    tag = path.slice(colon + 1);
    path = path.slice(0, colon);
    if (!TAG.test(tag)) bad(ref, `${JSON.stringify(tag)} is not a valid tag`);
  }
  if (!path) bad(ref, 'the repository is empty');
  for (const c of path.split('/')) {
    if (!COMPONENT.test(c)) bad(ref, `${JSON.stringify(c)} is not a valid repository path component (lowercase letters, digits, . _ -)`);
  }
  return { registry, repository: path, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/** `registry/repository[:tag][@digest]`. */
export function formatImageReference(r: ImageReference): string {
  return `${r.registry}/${r.repository}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
}

/** True for hosts on this machine: registries there are spoken to over plain http. */
export function isLoopbackHost(registry: string): boolean {
  const host = registry.startsWith('[') ? registry.slice(0, registry.indexOf(']') + 1) : registry.split(':')[0];
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * The base URL of a registry's API: http for loopback hosts and hosts listed
 * as insecure, https for every other.
 */
export function registryBaseURL(registry: string, insecure: readonly string[] = []): string {
  const plain = isLoopbackHost(registry) || insecure.includes(registry) || insecure.includes(registry.split(':')[0]);
  return `${plain ? 'http' : 'https'}://${registry}`;
}

/**
 * The registry of an image reference as an engine reads it: the first path
 * component when it looks like a host (has a dot or a port, or is
 * localhost), else Docker Hub.
 */
export function registryOfReference(ref: string): string {
  const slash = ref.indexOf('/');
  const first = slash < 0 ? '' : ref.slice(0, slash);
  return first && (first.includes('.') || first.includes(':') || first === 'localhost') ? first : 'docker.io';
}
