/**
 * Docker's client configuration (`$DOCKER_CONFIG/config.json`, else
 * `~/.docker/config.json`) and its credential helpers, read and written as
 * the docker CLI does, so a machine where `docker login` works needs nothing
 * more, and `sous registry login` is seen by `docker` too.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { failure, usageError } from '../errors';
import { writeFileAtomic } from '../events/outbox';
import { markSecret } from '../log';
import { canonicalRegistry } from './settings';

type Env = Record<string, string | undefined>;

/** One `auths` entry of config.json. */
export interface DockerAuthEntry {
  /** base64 of `user:password`. */
  auth?: string;
  username?: string;
  password?: string;
  /** An OAuth2 refresh token for the registry's token service. */
  identitytoken?: string;
  registrytoken?: string;
  email?: string;
}

export interface DockerConfigFile {
  auths?: Record<string, DockerAuthEntry>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [key: string]: unknown;
}

/** The server address Docker Hub's credentials are stored under. */
export const DOCKER_HUB_AUTH_KEY = 'https://index.docker.io/v1/';

export function dockerConfigDir(env: Env = process.env): string {
  return env.DOCKER_CONFIG || path.join(env.HOME || os.homedir(), '.docker');
}

export function dockerConfigFile(env: Env = process.env): string {
  return path.join(dockerConfigDir(env), 'config.json');
}

/** The file shown in messages: `~` for the home directory. */
export function displayPath(file: string, env: Env = process.env): string {
  const home = env.HOME || os.homedir();
  return home && file.startsWith(home + path.sep) ? `~${file.slice(home.length)}` : file;
}

/** Reads config.json; a missing file is an empty config, a broken one an error naming it. */
export function readDockerConfig(env: Env = process.env): { file: string; config: DockerConfigFile } {
  const file = dockerConfigFile(env);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return { file, config: {} };
    throw usageError('DOCKER_CONFIG_UNREADABLE', `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { file, hints: ['Check its permissions, or point DOCKER_CONFIG at another directory'] });
  }
  let config: unknown;
  try {
    config = text.trim() ? JSON.parse(text) : {};
  } catch (e) {
    throw usageError('DOCKER_CONFIG_INVALID', `${file} is not JSON: ${(e as Error).message}`, { file, hints: ['Fix the file (docker reads it too), or point DOCKER_CONFIG at another directory'] });
  }
  if (!config || typeof config !== 'object' || Array.isArray(config)) throw usageError('DOCKER_CONFIG_INVALID', `${file} is not a JSON object`, { file, hints: ['Fix the file (docker reads it too)'] });
  const c = config as DockerConfigFile;
  for (const e of Object.values(c.auths ?? {})) {
    if (!e || typeof e !== 'object') continue;
    markSecret(e.auth);
    markSecret(e.password);
    markSecret(e.identitytoken);
    markSecret(e.registrytoken);
    if (typeof e.auth === 'string') {
      const plain = Buffer.from(e.auth, 'base64').toString('utf8');
      markSecret(plain.slice(plain.indexOf(':') + 1));
    }
  }
  return { file, config: c };
}

/** Writes config.json atomically (mode 0600), keeping every key Sous does not know. */
export async function writeDockerConfig(config: DockerConfigFile, env: Env = process.env): Promise<string> {
  const file = dockerConfigFile(env);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeFileAtomic(file, JSON.stringify(config, null, '\t') + '\n');
  return file;
}

/** The host a config.json key names: `https://host/v1/`, `http://host`, `host` all name `host`. */
export function authKeyHost(key: string): string {
  return canonicalRegistry(key.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, ''));
}

/** The key a registry's credentials are stored under (Docker Hub's is a URL). */
export function authKeyFor(host: string): string {
  return canonicalRegistry(host) === 'docker.io' ? DOCKER_HUB_AUTH_KEY : canonicalRegistry(host);
}

/** The `auths` entry for a host, whichever form its key takes. */
export function findAuthEntry(config: DockerConfigFile, host: string): { key: string; entry: DockerAuthEntry } | undefined {
  const want = canonicalRegistry(host);
  for (const [key, entry] of Object.entries(config.auths ?? {})) {
    if (entry && typeof entry === 'object' && authKeyHost(key) === want) return { key, entry };
  }
  return undefined;
}

/** The helper config.json names for a host: credHelpers first, then credsStore. */
export function helperFor(config: DockerConfigFile, host: string): { name: string; via: 'credHelpers' | 'credsStore' } | undefined {
  const want = canonicalRegistry(host);
  for (const [key, name] of Object.entries(config.credHelpers ?? {})) {
    if (typeof name === 'string' && name && authKeyHost(key) === want) return { name, via: 'credHelpers' };
  }
  return typeof config.credsStore === 'string' && config.credsStore ? { name: config.credsStore, via: 'credsStore' } : undefined;
}

/** What a helper answers to `get`. */
export interface HelperCredential {
  username: string;
  secret: string;
}

function helperFailed(name: string, action: string, why: string, stderr = ''): never {
  const program = `docker-credential-${name}`;
  throw failure('CREDENTIAL_HELPER_FAILED', `the credential helper ${program} failed to ${action}: ${why}${stderr ? `: ${stderr.trim().split('\n').slice(-3).join(' / ')}` : ''}`, {
    hints: [`Check that ${program} is on PATH and works: echo HOST | ${program} get`, 'Or log in another way: sous registry login HOST, or registries.HOST.username and passwordEnv in the config'],
    details: { helper: program, action, ...(stderr ? { stderr: stderr.trim().slice(-2000) } : {}) },
  });
}

interface HelperRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs a helper with `input` on stdin (a helper that exits without reading it is fine). */
function runHelper(name: string, action: 'get' | 'store' | 'erase', input: string, env: Env): Promise<HelperRun> {
  const program = `docker-credential-${name}`;
  return new Promise((resolve, reject) => {
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(program, [action], { env: env as NodeJS.ProcessEnv, stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (e) {
      reject(e);
      return;
    }
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(input);
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      try {
        helperFailed(name, action, e.code === 'ENOENT' ? `${program} is not on PATH` : e.code === 'EACCES' ? `${program} is not executable` : (e.code ?? e.message));
      } catch (se) {
        reject(se);
      }
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (signal) {
        try {
          helperFailed(name, action, signal === 'SIGKILL' ? 'it did not answer within 60 s' : `it was killed (${signal})`, stderr);
        } catch (se) {
          reject(se);
        }
        return;
      }
      resolve({ exitCode: code ?? 0, stdout: stdout.trim(), stderr: stderr.trim() });
    });
  });
}

const NOT_FOUND = /credentials not found|not found in native keychain|no credentials/i;

/** Runs `docker-credential-<name> get`; undefined when the helper has nothing for the host. */
export async function helperGet(name: string, host: string, env: Env = process.env): Promise<HelperCredential | undefined> {
  const r = await runHelper(name, 'get', authKeyFor(host), env);
  if (r.exitCode !== 0) {
    if (NOT_FOUND.test(r.stdout) || NOT_FOUND.test(r.stderr)) return undefined;
    helperFailed(name, 'get', `it exited with ${r.exitCode}`, r.stderr || r.stdout);
  }
  let parsed: { Username?: unknown; Secret?: unknown };
  try {
    parsed = JSON.parse(r.stdout) as typeof parsed;
  } catch {
    return helperFailed(name, 'get', 'its answer is not the JSON the protocol asks for ({"Username","Secret"})', r.stderr);
  }
  const username = typeof parsed.Username === 'string' ? parsed.Username : '';
  const secret = typeof parsed.Secret === 'string' ? parsed.Secret : '';
  markSecret(secret);
  if (!secret) return undefined;
  return { username, secret };
}

/** Runs `docker-credential-<name> store`. */
export async function helperStore(name: string, host: string, cred: HelperCredential, env: Env = process.env): Promise<void> {
  const r = await runHelper(name, 'store', JSON.stringify({ ServerURL: authKeyFor(host), Username: cred.username, Secret: cred.secret }), env);
  if (r.exitCode !== 0) helperFailed(name, 'store', `it exited with ${r.exitCode}`, r.stderr || r.stdout);
}

/** Runs `docker-credential-<name> erase`; false when it had nothing for the host. */
export async function helperErase(name: string, host: string, env: Env = process.env): Promise<boolean> {
  const r = await runHelper(name, 'erase', authKeyFor(host), env);
  if (r.exitCode === 0) return true;
  if (NOT_FOUND.test(r.stdout) || NOT_FOUND.test(r.stderr)) return false;
  return helperFailed(name, 'erase', `it exited with ${r.exitCode}`, r.stderr || r.stdout);
}
