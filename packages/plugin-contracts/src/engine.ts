import Docker from 'dockerode';
import { failure, type BuiltImage } from '@sous/core';

/** How to reach a Docker engine, as dockerode takes it. */
export interface EngineAddress {
  /** The address as configured (unix:///..., tcp://...). */
  host: string;
  options: Docker.DockerOptions;
}

export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';

/** The engine to use: config.dockerHost, else DOCKER_HOST, else the default socket. */
export function engineAddress(configured?: string, env: NodeJS.ProcessEnv = process.env): EngineAddress {
  const host = configured || env.DOCKER_HOST || DEFAULT_DOCKER_HOST;
  if (host.startsWith('unix://')) return { host, options: { socketPath: host.slice('unix://'.length) } };
  if (host.startsWith('npipe://')) return { host, options: { socketPath: host.slice('npipe://'.length) } };
  if (host.startsWith('/')) return { host, options: { socketPath: host } };
  const m = /^(tcp|http|https):\/\/([^:/]+|\[[^\]]+\])(?::(\d+))?\/?$/.exec(host);
  if (!m) {
    throw failure('ENGINE_ADDRESS_INVALID', `cannot use Docker engine address ${JSON.stringify(host)}`, {
      hints: ['Engine addresses look like unix:///var/run/docker.sock or tcp://127.0.0.1:2375 (dockerHost in the config, or DOCKER_HOST)'],
    });
  }
  const protocol = m[1] === 'https' ? 'https' : 'http';
  return { host, options: { protocol, host: m[2].replace(/^\[|\]$/g, ''), port: Number(m[3] ?? (protocol === 'https' ? 2376 : 2375)) } };
}

export function connect(address: EngineAddress): Docker {
  return new Docker(address.options);
}

/** Errors from dockerode carry the HTTP status and the engine's message. */
export interface EngineError extends Error {
  statusCode?: number;
  json?: { message?: string } | null;
  code?: string;
}

export function engineMessage(e: unknown): string {
  const ee = e as EngineError;
  return (ee?.json && typeof ee.json === 'object' && ee.json.message) || ee?.message || String(e);
}

/** True for errors that mean the engine itself could not be reached. */
export function isUnreachable(e: unknown): boolean {
  return ['ECONNREFUSED', 'ENOENT', 'EACCES', 'ECONNRESET', 'EHOSTUNREACH', 'ETIMEDOUT'].includes((e as EngineError)?.code ?? '');
}

export function unreachable(address: EngineAddress, e: unknown) {
  return failure('ENGINE_UNREACHABLE', `cannot reach the Docker engine at ${address.host}: ${engineMessage(e)}`, {
    cause: e,
    hints: ['Start it, or point Sous at another: dockerHost in the config, or DOCKER_HOST (for the local one: node scripts/local-engine.js start)'],
  });
}

/** The reference to run: the engine's image id, or name@digest for an image known only by its pushed digest. */
export function imageRef(image: BuiltImage): string {
  if (image.id) return image.id;
  return `${image.name}@${image.digest}`;
}

/**
 * The image's inspection, pulling it by digest first when the engine does not
 * have it (`sous test` on a machine that did not build it).
 */
export async function ensureImage(docker: Docker, address: EngineAddress, image: BuiltImage): Promise<Docker.ImageInspectInfo> {
  const ref = imageRef(image);
  try {
    return await docker.getImage(ref).inspect();
  } catch (e) {
    if (isUnreachable(e)) throw unreachable(address, e);
    if ((e as EngineError).statusCode !== 404) throw failure('ENGINE_ERROR', `inspecting image ${ref}: ${engineMessage(e)}`, { cause: e });
  }
  const pullRef = image.digest ? `${image.name}@${image.digest}` : ref.includes('@sha256:') ? ref : undefined;
  if (!pullRef) {
    throw failure('IMAGE_NOT_FOUND', `the engine at ${address.host} has no image ${ref}`, { hints: ['Build it again: sous build --tag VERSION --force'] });
  }
  try {
    const registry = pullRef.split('/')[0];
    const stream = await docker.pull(pullRef, { authconfig: { serveraddress: registry } });
    await new Promise<void>((resolve, reject) => {
      docker.modem.followProgress(stream, (err: Error | null, events: { error?: string; errorDetail?: { message?: string } }[]) => {
        const bad = events?.find((ev) => ev.error || ev.errorDetail);
        if (err) reject(err);
        else if (bad) reject(new Error(bad.errorDetail?.message ?? bad.error));
        else resolve();
      });
    });
    return await docker.getImage(pullRef).inspect();
  } catch (e) {
    if (isUnreachable(e)) throw unreachable(address, e);
    throw failure('IMAGE_PULL_FAILED', `cannot pull ${pullRef}: ${engineMessage(e)}`, {
      cause: e,
      hints: ['Check that the registry is up and still has the image (the artifact index records where it was pushed)'],
    });
  }
}

/**
 * Splits the engine's multiplexed log or exec stream (8-byte frame headers,
 * used when the container has no TTY) into text.
 */
export function demux(buf: Buffer): string {
  const parts: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length && (buf[i] === 0 || buf[i] === 1 || buf[i] === 2) && buf[i + 1] === 0 && buf[i + 2] === 0 && buf[i + 3] === 0) {
    const len = buf.readUInt32BE(i + 4);
    parts.push(buf.subarray(i + 8, Math.min(buf.length, i + 8 + len)));
    i += 8 + len;
  }
  if (i < buf.length && parts.length === 0) return buf.toString('utf8');
  return Buffer.concat(parts).toString('utf8');
}

/** The last `n` non-empty lines of a text. */
export function lastLines(text: string, n: number): string[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  return n > 0 ? lines.slice(-n) : [];
}
