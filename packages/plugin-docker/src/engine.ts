import * as fs from 'node:fs';
import Module from 'node:module';
import * as path from 'node:path';
import type Dockerode from 'dockerode';
import { failure, isSousError, type SousError } from '@sous/core';

/** Where the engine is when nothing says otherwise. */
export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';

/** A Docker host address, or anything with a `dockerHost` field (the resolved config). */
export type EngineAddress = string | { readonly dockerHost?: string } | undefined;

/**
 * The engine address to use: the one given, else the config's `dockerHost`,
 * else `DOCKER_HOST`, else the local socket.
 */
export function resolveDockerHost(hostOrConfig?: EngineAddress, env: NodeJS.ProcessEnv = process.env): string {
  const given = typeof hostOrConfig === 'string' ? hostOrConfig : hostOrConfig?.dockerHost;
  return given || env.DOCKER_HOST || DEFAULT_DOCKER_HOST;
}

function engineOptions(host: string, env: NodeJS.ProcessEnv): Dockerode.DockerOptions {
  if (host.startsWith('unix://')) return { socketPath: host.slice('unix://'.length) || '/var/run/docker.sock' };
  if (host.startsWith('/')) return { socketPath: host };
  let url: URL;
  try {
    url = new URL(host.includes('://') ? host : `tcp://${host}`);
  } catch {
    throw badHost(host);
  }
  if (!['tcp:', 'http:', 'https:'].includes(url.protocol) || !url.hostname) throw badHost(host);
  const tls = url.protocol === 'https:' || (url.protocol === 'tcp:' && (env.DOCKER_TLS_VERIFY === '1' || url.port === '2376'));
  const opts: Dockerode.DockerOptions = {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port || (tls ? 2376 : 2375),
    protocol: tls ? 'https' : 'http',
  };
  if (tls && env.DOCKER_CERT_PATH) {
    const dir = env.DOCKER_CERT_PATH;
    opts.ca = fs.readFileSync(path.join(dir, 'ca.pem'));
    opts.cert = fs.readFileSync(path.join(dir, 'cert.pem'));
    opts.key = fs.readFileSync(path.join(dir, 'key.pem'));
  }
  return opts;
}

function badHost(host: string): SousError {
  return failure('DOCKER_HOST_INVALID', `cannot use ${JSON.stringify(host)} as a Docker engine address`, {
    hints: ['Use unix:///path/to/docker.sock, tcp://HOST:PORT or http(s)://HOST:PORT (DOCKER_HOST, SOUS_DOCKER_HOST or dockerHost in the config)'],
  });
}

const clients = new Map<string, Dockerode>();

/**
 * Puts a stand-in for a module that exports one function into the module
 * cache: the module itself loads on the first call.
 */
function deferModule(file: string): void {
  const cache = require.cache;
  if (cache[file] || !fs.existsSync(file)) return;
  let real: ((...a: unknown[]) => unknown) | undefined;
  const stub = new Module(file);
  stub.filename = file;
  stub.loaded = true;
  stub.exports = function deferred(this: unknown, ...a: unknown[]) {
    if (!real) {
      delete cache[file];
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      real = require(file) as (...a: unknown[]) => unknown;
    }
    return real.apply(this, a);
  };
  cache[file] = stub;
}

/**
 * dockerode loads ssh2 (for ssh:// engines) and gRPC (for its own BuildKit
 * sessions, which Sous does not use: session.ts is its own) as it loads,
 * about 60 ms of every process that reaches an engine. Each comes through a
 * module exporting one function, deferred until called.
 */
function loadDockerode(): typeof Dockerode {
  try {
    const dockerode = path.dirname(require.resolve('dockerode/package.json'));
    const modem = path.dirname(require.resolve('docker-modem/package.json', { paths: [dockerode] }));
    deferModule(path.join(dockerode, 'lib/session.js'));
    deferModule(path.join(modem, 'lib/ssh.js'));
  } catch {
    // A layout other than the one these versions have: load everything as usual.
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('dockerode') as typeof Dockerode;
}

/**
 * A Dockerode client for the engine at `hostOrConfig` (see {@link resolveDockerHost}).
 * Clients are shared per address, so connections are reused across plugins.
 */
export function connectEngine(hostOrConfig?: EngineAddress): Dockerode {
  const host = resolveDockerHost(hostOrConfig);
  let client = clients.get(host);
  if (!client) {
    // Loaded on first use: dockerode is too much for commands that never reach an engine.
    const Engine = loadDockerode();
    client = new Engine(engineOptions(host, process.env));
    clients.set(host, client);
  }
  return client;
}

/** The address a client talks to, for messages. */
export function engineAddress(docker: Dockerode): string {
  const m = docker.modem as { socketPath?: string; host?: string; port?: string | number; protocol?: string };
  if (m.socketPath) return `unix://${m.socketPath}`;
  return `${m.protocol === 'https' ? 'https' : 'tcp'}://${m.host}:${m.port}`;
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOENT', 'EACCES', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EAI_AGAIN', 'ENOTFOUND', 'EPIPE']);

/** True when `e` says the engine could not be reached at all (as opposed to an answer we did not like). */
export function isUnreachable(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  return typeof code === 'string' && UNREACHABLE.has(code);
}

/** The SousError for an engine that does not answer. */
export function engineUnreachable(docker: Dockerode | string, cause?: unknown): SousError {
  const where = typeof docker === 'string' ? docker : engineAddress(docker);
  const why = (cause as { code?: string })?.code ? ` (${(cause as { code: string }).code})` : '';
  return failure('ENGINE_UNREACHABLE', `no Docker engine answers at ${where}${why}`, {
    cause,
    hints: [
      'Point Sous at a running engine: DOCKER_HOST=unix:///run/sous-engine/docker.sock (or SOUS_DOCKER_HOST, or dockerHost in the config)',
      'Or start a local one: node scripts/local-engine.js start',
    ],
    details: { dockerHost: where },
  });
}

/** Turns a failed engine call into ENGINE_UNREACHABLE when the engine was not there; other errors pass through. */
export function engineError(docker: Dockerode, e: unknown): unknown {
  if (isSousError(e)) return e;
  return isUnreachable(e) ? engineUnreachable(docker, e) : e;
}

/**
 * Checks that the engine answers; throws ENGINE_UNREACHABLE (with hints) when
 * nothing listens at its address.
 */
export async function pingEngine(docker: Dockerode = connectEngine(), opts: { timeoutMs?: number } = {}): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      docker.ping(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error('ping timed out'), { code: 'ETIMEDOUT' })), timeoutMs);
      }),
    ]);
  } catch (e) {
    // Anything but an engine's answer (a refused socket, a timeout, some other server) means no usable engine.
    throw isSousError(e) ? e : engineUnreachable(docker, e);
  } finally {
    clearTimeout(timer);
  }
}
