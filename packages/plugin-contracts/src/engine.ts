import type Docker from 'dockerode';
import { engineAuthFor, engineRegistryError, failure, parseImageReference, registryOfReference, resolveRegistryAuth, type BuiltImage, type RegistryConfig } from '@sous/core';
import { connectEngine, engineUnreachable, isUnreachable, resolveDockerHost } from '@sous/plugin-docker';

export { isUnreachable };

/** The engine contracts run on, and its address (for messages, and for the clean-up process). */
export interface Engine {
  docker: Docker;
  /** The address as resolved: config.dockerHost, else DOCKER_HOST, else the local socket. */
  host: string;
}

/** The engine: config.dockerHost, else DOCKER_HOST, else unix:///var/run/docker.sock (the docker plugin's client). */
export function engineFor(dockerHost?: string): Engine {
  const host = resolveDockerHost(dockerHost);
  return { docker: connectEngine(host), host };
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

export function unreachable(engine: Engine, e: unknown) {
  return engineUnreachable(engine.host, e);
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
export async function ensureImage(engine: Engine, image: BuiltImage, registries?: RegistryConfig): Promise<Docker.ImageInspectInfo> {
  const { docker } = engine;
  const ref = imageRef(image);
  try {
    return await docker.getImage(ref).inspect();
  } catch (e) {
    if (isUnreachable(e)) throw unreachable(engine, e);
    if ((e as EngineError).statusCode !== 404) throw failure('ENGINE_ERROR', `inspecting image ${ref}: ${engineMessage(e)}`, { cause: e });
  }
  const pullRef = image.digest ? `${image.name}@${image.digest}` : ref.includes('@sha256:') ? ref : undefined;
  if (!pullRef) {
    throw failure('IMAGE_NOT_FOUND', `the engine at ${engine.host} has no image ${ref}`, { hints: ['Build it again: sous build --tag VERSION --force'] });
  }
  const registry = registryOfReference(pullRef);
  try {
    // Pulled with the credentials Sous resolves for the registry, as `docker pull` after `docker login` would.
    const stream = await docker.pull(pullRef, { authconfig: await engineAuthFor(registry, registries) });
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
    if (isUnreachable(e)) throw unreachable(engine, e);
    if (e instanceof Error && e.name === 'SousError') throw e;
    const named = engineRegistryError(registry, parseImageReference(pullRef).repository, 'pull from', await resolveRegistryAuth(registry, registries), engineMessage(e));
    if (named) throw named;
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
