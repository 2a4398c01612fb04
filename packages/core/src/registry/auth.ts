/**
 * The one credential lookup every registry call uses, and the engine is
 * handed: `resolveRegistryAuth(host, config)` says which credential a
 * registry gets and where it came from. Values are registered as secrets the
 * moment they are read, so no log line, error or event can carry them.
 *
 * Where it looks, first match wins:
 *  1. the config's `registries.<host>`: `username` + `passwordEnv`, then `credentialHelper`;
 *  2. Docker's config.json: `credHelpers.<host>`, then `credsStore`, then `auths.<host>`
 *     (`auth`, `username`/`password`, `identitytoken`).
 */
import { usageError } from '../errors';
import { markSecret } from '../log';
import { authKeyFor, displayPath, findAuthEntry, helperFor, helperGet, readDockerConfig } from './docker-config';
import { canonicalRegistry, registrySettings, type RegistryConfig } from './settings';

type Env = Record<string, string | undefined>;

/** A registry credential: a user and password (or access token), or an OAuth2 refresh token. */
export interface RegistryCredential {
  username: string;
  password?: string;
  /** Docker's `identitytoken`: a refresh token for the registry's token service. */
  identityToken?: string;
}

/** What resolveRegistryAuth found for a host. */
export interface RegistryAuth {
  /** The registry, as Sous names it (Docker Hub: docker.io). */
  host: string;
  credential?: RegistryCredential;
  /** Where the credential came from, for messages: never the credential itself. */
  source: string;
  kind: 'config' | 'helper' | 'docker-config' | 'none';
  /** Where Sous looked when it found nothing. */
  searched: string[];
}

export interface ResolveAuthOptions {
  env?: Env;
}

const cache = new WeakMap<object, Map<string, Promise<RegistryAuth>>>();
const NO_CONFIG = {};
let generation = 0;

/** Forgets what was looked up (after a login or logout changed it). */
export function forgetRegistryAuth(): void {
  // A WeakMap cannot be cleared: the maps it holds are replaced as they are next used.
  generation++;
}

function secret(cred: RegistryCredential): RegistryCredential {
  markSecret(cred.password);
  markSecret(cred.identityToken);
  if (cred.password) markSecret(Buffer.from(`${cred.username}:${cred.password}`).toString('base64'));
  return cred;
}

async function lookup(host: string, config: RegistryConfig | undefined, env: Env): Promise<RegistryAuth> {
  const h = canonicalRegistry(host);
  const searched: string[] = [];
  const { key, settings } = registrySettings(h, config);
  if (key && (settings.passwordEnv || settings.username)) {
    const field = `registries.${key}`;
    if (!settings.username || !settings.passwordEnv) {
      throw usageError('REGISTRY_CREDENTIAL_INCOMPLETE', `${field} has ${settings.username ? 'a username but no passwordEnv' : 'a passwordEnv but no username'}`, {
        field,
        hints: [`Give both: ${field}.username and ${field}.passwordEnv (the environment variable holding the password or token)`],
      });
    }
    const password = env[settings.passwordEnv];
    if (!password) {
      throw usageError('REGISTRY_PASSWORD_ENV_UNSET', `${field}.passwordEnv names the environment variable ${settings.passwordEnv}, which is not set`, {
        field: `${field}.passwordEnv`,
        hints: [`Set ${settings.passwordEnv} to the password or access token of ${settings.username} on ${h}`],
      });
    }
    return { host: h, credential: secret({ username: settings.username, password }), source: `the environment variable ${settings.passwordEnv} (${field}.passwordEnv, user ${settings.username})`, kind: 'config', searched };
  }
  if (key && settings.credentialHelper) {
    const got = await helperGet(settings.credentialHelper, h, env);
    const program = `docker-credential-${settings.credentialHelper}`;
    if (got) return { host: h, credential: secret(toCredential(got.username, got.secret)), source: `${program} (registries.${key}.credentialHelper)`, kind: 'helper', searched };
    searched.push(`${program} (registries.${key}.credentialHelper): nothing for ${authKeyFor(h)}`);
  }
  const { file, config: dc } = readDockerConfig(env);
  const shown = displayPath(file, env);
  const helper = helperFor(dc, h);
  if (helper) {
    const program = `docker-credential-${helper.name}`;
    const got = await helperGet(helper.name, h, env);
    if (got) return { host: h, credential: secret(toCredential(got.username, got.secret)), source: `${program} (${helper.via} in ${shown})`, kind: 'helper', searched };
    searched.push(`${program} (${helper.via} in ${shown}): nothing for ${authKeyFor(h)}`);
  }
  const found = findAuthEntry(dc, h);
  if (found) {
    const e = found.entry;
    let username = e.username ?? '';
    let password = e.password;
    if (typeof e.auth === 'string' && e.auth) {
      const plain = Buffer.from(e.auth, 'base64').toString('utf8');
      const colon = plain.indexOf(':');
      if (colon > 0) {
        username = plain.slice(0, colon);
        password = plain.slice(colon + 1);
      }
    }
    const where = `${shown} (auths.${found.key})`;
    if (e.identitytoken) return { host: h, credential: secret({ username: username || '<token>', identityToken: e.identitytoken }), source: `the identity token in ${where}`, kind: 'docker-config', searched };
    if (password) return { host: h, credential: secret({ username, password }), source: where, kind: 'docker-config', searched };
    searched.push(`${where}: an entry without credentials`);
  } else searched.push(`${shown}: no entry for ${h}`);
  return { host: h, source: 'no credentials (anonymous)', kind: 'none', searched };
}

function toCredential(username: string, secretValue: string): RegistryCredential {
  // Docker's helpers hand back an identity token as the secret of the user `<token>`.
  return username === '<token>' ? { username, identityToken: secretValue } : { username, password: secretValue };
}

/**
 * The credential for a registry and where it came from. Looked up once per
 * host and config (a helper is run once), never logged.
 */
export function resolveRegistryAuth(host: string, config?: RegistryConfig, opts: ResolveAuthOptions = {}): Promise<RegistryAuth> {
  const env = opts.env ?? process.env;
  const holder = (config ?? NO_CONFIG) as object;
  let byHost = cache.get(holder);
  if (!byHost || (byHost as Map<string, Promise<RegistryAuth>> & { generation?: number }).generation !== generation) {
    byHost = Object.assign(new Map<string, Promise<RegistryAuth>>(), { generation });
    cache.set(holder, byHost);
  }
  const key = `${canonicalRegistry(host)} ${env === process.env ? '' : JSON.stringify([env.DOCKER_CONFIG, env.HOME, env.PATH])}`;
  let p = byHost.get(key);
  if (!p) {
    p = lookup(host, config, env);
    byHost.set(key, p);
    // A failed lookup (a helper that failed) is tried again next time.
    p.catch(() => byHost!.delete(key));
  }
  return p;
}

/** The Engine API's AuthConfig (X-Registry-Auth) for a registry. */
export interface EngineAuthConfig {
  serveraddress: string;
  username?: string;
  password?: string;
  identitytoken?: string;
}

export function engineAuthConfig(auth: RegistryAuth): EngineAuthConfig {
  const serveraddress = auth.host === 'docker.io' ? authKeyFor(auth.host) : auth.host;
  const c = auth.credential;
  if (!c) return { serveraddress };
  if (c.identityToken) return { serveraddress, identitytoken: c.identityToken };
  return { serveraddress, username: c.username, password: c.password };
}

/** The X-Registry-Auth header value: base64url of the AuthConfig JSON, as the docker CLI sends it. */
export function engineAuthHeader(auth: RegistryAuth): string {
  const v = Buffer.from(JSON.stringify(engineAuthConfig(auth))).toString('base64url');
  markSecret(v);
  return v;
}

/** The registry auth of a host as the engine wants it, resolved from the config. */
export async function engineAuthFor(host: string, config?: RegistryConfig): Promise<EngineAuthConfig> {
  return engineAuthConfig(await resolveRegistryAuth(host, config));
}
