import * as http from 'node:http';
import * as https from 'node:https';
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

function head(url: string, headers: Record<string, string>, timeoutMs: number): Promise<{ status: number; headers: http.IncomingHttpHeaders }> {
  // node:http rather than fetch: fetch loads undici on first use, a cost every `sous build` process would pay.
  const lib = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(url, { method: 'HEAD', headers, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, headers: res.headers });
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer in ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end();
  });
}

/**
 * The digest the registry serves for `repo:tag`, asked the way that gives
 * the v2/OCI manifest's digest (`HEAD /v2/<name>/manifests/<tag>`).
 */
export async function registryDigest(repo: string, tag: string, opts: { timeoutMs?: number } = {}): Promise<string> {
  const { host, repository } = splitRepository(repo);
  const url = `${registryBaseURL(host)}/v2/${repository}/manifests/${encodeURIComponent(tag)}`;
  let res: { status: number; headers: http.IncomingHttpHeaders };
  try {
    res = await head(url, { Accept: MANIFEST_ACCEPT }, opts.timeoutMs ?? 15000);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw registryUnreachable(host, err.code ?? err.message, e);
  }
  const digest = res.headers['docker-content-digest'];
  if (res.status !== 200 || typeof digest !== 'string' || !digest) {
    throw failure('DIGEST_UNCONFIRMED', `the registry ${host} does not confirm ${repository}:${tag} after the push (HTTP ${res.status}${digest ? '' : ', no Docker-Content-Digest'})`, {
      hints: ['Check the registry serves the Docker Registry HTTP API v2 and that it allows anonymous reads of what it just accepted'],
      details: { registry: host, status: res.status },
    });
  }
  return digest;
}
