/**
 * Per-registry settings: the operator config's `registries.<host[:port]>`
 * (credentials, CA, insecure, image names), Docker's certs.d convention, and
 * the names Docker Hub goes by.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { usageError } from '../errors';
import type { TlsOptions } from '../net/fetch';
import { isLoopbackName } from '../net/proxy';

/** One registry's entry in the config's `registries`. */
export interface RegistrySettings {
  /** The user name to log in with (its password comes from passwordEnv). */
  username?: string;
  /** The environment variable holding the password or access token. */
  passwordEnv?: string;
  /** A docker-credential-<name> helper to ask (the name only: `pass`, `ecr-login`, `gcloud`). */
  credentialHelper?: string;
  /** A PEM file of the CA that signed the registry's certificate. */
  caFile?: string;
  /** Plain HTTP, or HTTPS without checking the certificate. */
  insecure?: boolean;
  /** The image name template for this registry (see imageNameFor). */
  imageName?: string;
}

/** The parts of the resolved config the registry code reads. */
export interface RegistryConfig {
  readonly registries?: Readonly<Record<string, RegistrySettings>>;
  readonly imageName?: string;
  readonly sign?: Readonly<Record<string, unknown>>;
}

/** Where Docker keeps per-registry certificates: `<dir>/<host[:port]>/ca.crt`, `client.cert`, `client.key`. */
export const CERTS_D = '/etc/docker/certs.d';

const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

/** The name a registry goes by in Sous: lowercase host, Docker Hub as `docker.io`. */
export function canonicalRegistry(host: string): string {
  const h = host.trim().replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  const lower = h.toLowerCase();
  return DOCKER_HUB_ALIASES.has(lower) ? 'docker.io' : lower;
}

/** Where a registry's API answers: Docker Hub's at registry-1.docker.io. */
export function apiHost(host: string): string {
  return canonicalRegistry(host) === 'docker.io' ? 'registry-1.docker.io' : canonicalRegistry(host);
}

/** host[:port] without a path (a registry setting may carry one: `ghcr.io/acme`). */
export function registryHostOf(registry: string): string {
  return canonicalRegistry(registry);
}

function withoutPort(host: string): string {
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  return host.split(':')[0];
}

/** The config entry for a registry: `host:port` first, then the host alone; Docker Hub under any of its names. */
export function registrySettings(host: string, config: RegistryConfig | undefined): { key?: string; settings: RegistrySettings } {
  const entries = config?.registries ?? {};
  const want = canonicalRegistry(host);
  let byHost: [string, RegistrySettings] | undefined;
  for (const [k, v] of Object.entries(entries)) {
    const c = canonicalRegistry(k);
    if (c === want) return { key: k, settings: v };
    if (!byHost && c === withoutPort(want) && c !== want) byHost = [k, v];
  }
  return byHost ? { key: byHost[0], settings: byHost[1] } : { settings: {} };
}

/** Hosts the deprecated `sign.insecureRegistries` lists. */
export function legacyInsecure(config: RegistryConfig | undefined): string[] {
  const v = (config?.sign as { insecureRegistries?: unknown } | undefined)?.insecureRegistries;
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** Whether a registry may be spoken to over plain HTTP or unverified TLS. */
export function isInsecureRegistry(host: string, config: RegistryConfig | undefined, extra: readonly string[] = []): boolean {
  if (registrySettings(host, config).settings.insecure) return true;
  const want = canonicalRegistry(host);
  return [...legacyInsecure(config), ...extra].some((x) => canonicalRegistry(x) === want || canonicalRegistry(x) === withoutPort(want));
}

/** True for registries on this machine. */
export function isLoopbackRegistry(host: string): boolean {
  return isLoopbackName(withoutPort(canonicalRegistry(host)));
}

function readPem(file: string, what: string, field: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw usageError('REGISTRY_TLS_FILE_UNREADABLE', `cannot read ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, {
      field,
      hints: ['Check the path and its permissions, or remove the setting'],
    });
  }
}

/** A registry's TLS material: the configured CA, else certs.d's ca.crt, plus certs.d's client certificate. */
export interface RegistryTls {
  tls?: TlsOptions;
  /** Where the CA came from, for messages. */
  caFrom?: string;
  /** The certs.d directory Docker's convention names for this host. */
  certsDir: string;
}

export function registryTls(host: string, config: RegistryConfig | undefined, certsD = CERTS_D): RegistryTls {
  const h = canonicalRegistry(host);
  const certsDir = path.join(certsD, h);
  const { key, settings } = registrySettings(h, config);
  const tls: TlsOptions = {};
  let caFrom: string | undefined;
  if (settings.caFile) {
    tls.ca = readPem(settings.caFile, `the CA file of ${h}`, `registries.${key}.caFile`);
    caFrom = `registries.${key}.caFile`;
  } else if (fs.existsSync(path.join(certsDir, 'ca.crt'))) {
    tls.ca = readPem(path.join(certsDir, 'ca.crt'), `the CA file of ${h}`, path.join(certsDir, 'ca.crt'));
    caFrom = path.join(certsDir, 'ca.crt');
  }
  if (fs.existsSync(path.join(certsDir, 'client.cert')) && fs.existsSync(path.join(certsDir, 'client.key'))) {
    tls.cert = readPem(path.join(certsDir, 'client.cert'), `the client certificate for ${h}`, path.join(certsDir, 'client.cert'));
    tls.key = readPem(path.join(certsDir, 'client.key'), `the client key for ${h}`, path.join(certsDir, 'client.key'));
  }
  return { tls: Object.keys(tls).length ? tls : undefined, caFrom, certsDir };
}
