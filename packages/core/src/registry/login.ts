/**
 * `sous registry login` and `logout`: check a credential against the
 * registry, then keep it where the docker CLI keeps it (the configured
 * helper, config.json's credHelpers or credsStore, else config.json's
 * `auths`), so docker and Sous share one login.
 */
import { usageError } from '../errors';
import { markSecret } from '../log';
import { forgetRegistryAuth, type RegistryAuth } from './auth';
import { RegistryClient } from './client';
import { authKeyFor, displayPath, findAuthEntry, helperErase, helperFor, helperStore, readDockerConfig, writeDockerConfig } from './docker-config';
import { isRegistryHost } from './reference';
import { canonicalRegistry, registrySettings, type RegistryConfig } from './settings';

type Env = Record<string, string | undefined>;

export interface LoginResult {
  registry: string;
  username: string;
  /** Where the credential was stored: a helper program, or the config.json file. */
  storedIn: string;
}

export interface LogoutResult {
  registry: string;
  /** Where a credential was removed from (none: nothing was stored). */
  removedFrom: string[];
}

/** Checks a registry host given on the command line. */
export function checkRegistryHost(host: string): string {
  const h = host.trim().replace(/^https?:\/\//, '').replace(/\/+$/, '');
  if (!h || h.includes('/') || !isRegistryHost(h)) {
    throw usageError('INVALID_REGISTRY_HOST', `${JSON.stringify(host)} is not a registry host (host or host:port)`, { hints: ['Name the registry as images do: ghcr.io, registry.acme.com:5000, docker.io'] });
  }
  return canonicalRegistry(h);
}

/** Where a login for this host is kept: the config's helper, then config.json's helpers, then its auths. */
function storeFor(host: string, config: RegistryConfig | undefined, env: Env): { helper?: string; via: string } {
  const { key, settings } = registrySettings(host, config);
  if (settings.credentialHelper) return { helper: settings.credentialHelper, via: `registries.${key}.credentialHelper` };
  const { file, config: dc } = readDockerConfig(env);
  const h = helperFor(dc, host);
  if (h) return { helper: h.name, via: `${h.via} in ${displayPath(file, env)}` };
  return { via: displayPath(file, env) };
}

/** Logs in: the registry must accept the credential before it is stored. */
export async function registryLogin(host: string, cred: { username: string; password: string }, config?: RegistryConfig, env: Env = process.env): Promise<LoginResult> {
  const registry = checkRegistryHost(host);
  if (!cred.username) throw usageError('REGISTRY_LOGIN_NO_USERNAME', `no user name to log in to ${registry} with`, { hints: [`Give one: sous registry login ${registry} --username USER --password-stdin`] });
  if (!cred.password) throw usageError('REGISTRY_LOGIN_NO_PASSWORD', `no password to log in to ${registry} with`, { hints: [`Pipe it in: echo "$TOKEN" | sous registry login ${registry} --username ${cred.username} --password-stdin`] });
  markSecret(cred.password);
  const auth: RegistryAuth = { host: registry, credential: { username: cred.username, password: cred.password }, source: 'the credentials given to sous registry login', kind: 'config', searched: [] };
  await new RegistryClient(registry, { config, auth }).ping();
  const store = storeFor(registry, config, env);
  let storedIn: string;
  if (store.helper) {
    await helperStore(store.helper, registry, { username: cred.username, secret: cred.password }, env);
    storedIn = `docker-credential-${store.helper} (${store.via})`;
  } else {
    const { config: dc } = readDockerConfig(env);
    const found = findAuthEntry(dc, registry);
    const key = found?.key ?? authKeyFor(registry);
    const { username: _u, password: _p, identitytoken: _i, ...keep } = found?.entry ?? {};
    dc.auths = { ...(dc.auths ?? {}), [key]: { ...keep, auth: Buffer.from(`${cred.username}:${cred.password}`).toString('base64') } };
    storedIn = displayPath(await writeDockerConfig(dc, env), env);
  }
  forgetRegistryAuth();
  return { registry, username: cred.username, storedIn };
}

/** Logs out: the helper forgets the credential, config.json loses its entry. */
export async function registryLogout(host: string, config?: RegistryConfig, env: Env = process.env): Promise<LogoutResult> {
  const registry = checkRegistryHost(host);
  const removedFrom: string[] = [];
  const store = storeFor(registry, config, env);
  if (store.helper && (await helperErase(store.helper, registry, env))) removedFrom.push(`docker-credential-${store.helper} (${store.via})`);
  const { file, config: dc } = readDockerConfig(env);
  const found = findAuthEntry(dc, registry);
  if (found) {
    delete dc.auths![found.key];
    await writeDockerConfig(dc, env);
    removedFrom.push(displayPath(file, env));
  }
  forgetRegistryAuth();
  return { registry, removedFrom };
}
