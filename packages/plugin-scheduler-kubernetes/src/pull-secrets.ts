import * as crypto from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import { LABELS, MANAGED_BY } from './names';

/** Credentials for one registry, as `docker login` keeps them. */
export interface RegistryCredential {
  username?: string;
  password?: string;
  /** An OAuth refresh token (Docker's `identitytoken`), instead of a password. */
  identityToken?: string;
}

/**
 * Where the credentials for pulling from a registry come from: the
 * registry's host[:port] in, its credential out (undefined: pulls are
 * anonymous, and pods get no imagePullSecrets). Core's registry credential
 * lookup fills this; `kubernetesScheduler({ pullCredentials })` may too.
 */
export type PullCredentials = (registry: string) => Promise<RegistryCredential | undefined>;

/** The registry host of a pinned image name (`registry.example.com:5000/acme/shop@sha256:...`). */
export function registryOf(image: string): string {
  const first = image.split('/')[0];
  return image.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost') ? first : 'docker.io';
}

/** The name of the pull secret for a registry, one per registry in a namespace. */
export function pullSecretName(registry: string): string {
  const readable = registry
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 30)
    .replace(/-+$/, '');
  return `sous-pull-${readable || 'registry'}-${crypto.createHash('sha256').update(registry).digest('hex').slice(0, 8)}`;
}

/** A kubernetes.io/dockerconfigjson Secret with the registry's credential, as `kubectl create secret docker-registry` makes it. */
export function pullSecret(registry: string, cred: RegistryCredential, namespace: string): V1Secret {
  const entry: Record<string, string> = {};
  if (cred.username !== undefined) entry.username = cred.username;
  if (cred.password !== undefined) entry.password = cred.password;
  if (cred.username !== undefined && cred.password !== undefined) entry.auth = Buffer.from(`${cred.username}:${cred.password}`).toString('base64');
  if (cred.identityToken) entry.identitytoken = cred.identityToken;
  // Docker Hub's credentials are filed under its v1 index URL, as `docker login` writes them.
  const key = registry === 'docker.io' ? 'https://index.docker.io/v1/' : registry;
  const config = JSON.stringify({ auths: { [key]: entry } });
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/dockerconfigjson',
    metadata: { name: pullSecretName(registry), namespace, labels: { [LABELS.managedBy]: MANAGED_BY } },
    data: { '.dockerconfigjson': Buffer.from(config).toString('base64') },
  };
}
