/**
 * Base images for tests, made locally because Docker Hub cannot be reached:
 * the smallest is a static busybox root filesystem (/bin/busybox plus a link
 * per applet) imported into the engine through dockerode. Images are tagged
 * with a hash of their recipe and reused while it stays the same, so only the
 * first run on a machine pays for them.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import type Docker from 'dockerode';
import { pack } from 'tar-stream';

export const BUSYBOX = '/bin/busybox';
const RECIPE_VERSION = '1';

/** A dockerode client for the engine the tests use (DOCKER_HOST, set by global-setup.ts). */
export function engine(): Docker {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Dockerode = require('dockerode') as typeof Docker;
  const host = process.env.SOUS_TEST_DOCKER_HOST || process.env.DOCKER_HOST || 'unix:///run/sous-engine/docker.sock';
  if (host.startsWith('unix://')) return new Dockerode({ socketPath: host.slice('unix://'.length) });
  const u = new URL(host.replace(/^tcp:/, 'http:'));
  return new Dockerode({ host: u.hostname, port: Number(u.port) });
}

export async function imageExists(docker: Docker, ref: string): Promise<boolean> {
  try {
    await docker.getImage(ref).inspect();
    return true;
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return false;
    throw e;
  }
}

/** Reads a dockerode progress stream to its end; fails on the first error event. Returns every event. */
export function follow(docker: Docker, stream: NodeJS.ReadableStream): Promise<Record<string, any>[]> { // eslint-disable-line @typescript-eslint/no-explicit-any
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(stream, (err: Error | null, events: Record<string, any>[]) => { // eslint-disable-line @typescript-eslint/no-explicit-any
      if (err) return reject(err);
      const bad = events.find((e) => e.error || e.errorDetail);
      if (bad) return reject(new Error(bad.errorDetail?.message ?? bad.error));
      resolve(events);
    });
  });
}

/** The applets the local busybox provides (`busybox --list`). */
function applets(): string[] {
  return execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' })
    .split('\n')
    .map((s) => s.trim())
    .filter((s) => /^[A-Za-z0-9_.[-]+$/.test(s) && s !== 'busybox');
}

/** A tarball of a minimal root filesystem: busybox, its applet links, /tmp, /etc/passwd and /etc/group. */
export async function busyboxRootfs(): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<void>((resolve, reject) => {
    p.on('end', () => resolve());
    p.on('error', reject);
  });
  const mtime = new Date(0);
  for (const d of ['bin', 'etc', 'tmp', 'root', 'usr', 'usr/bin', 'sbin']) p.entry({ name: d, type: 'directory', mode: d === 'tmp' ? 0o1777 : 0o755, mtime });
  p.entry({ name: 'bin/busybox', mode: 0o755, mtime }, fs.readFileSync(BUSYBOX));
  for (const a of applets()) p.entry({ name: `bin/${a}`, type: 'symlink', linkname: 'busybox', mode: 0o777, mtime });
  p.entry({ name: 'etc/passwd', mode: 0o644, mtime }, 'root:x:0:0:root:/root:/bin/sh\napp:x:10001:10001:app:/tmp:/bin/sh\n');
  p.entry({ name: 'etc/group', mode: 0o644, mtime }, 'root:x:0:\napp:x:10001:\n');
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** What decides the image: the busybox binary and this recipe. */
function busyboxTag(): string {
  const h = crypto.createHash('sha256').update(RECIPE_VERSION).update(fs.readFileSync(BUSYBOX)).digest('hex');
  return h.slice(0, 16);
}

/**
 * The busybox base image (`sous-test/busybox:<recipe hash>`), imported once
 * per machine and engine and reused after. Returns its reference.
 */
export async function busyboxBase(docker: Docker = engine()): Promise<string> {
  const ref = `sous-test/busybox:${busyboxTag()}`;
  if (await imageExists(docker, ref)) return ref;
  const tar = await busyboxRootfs();
  const { Readable } = await import('node:stream');
  const [repo, tag] = ref.split(':');
  const stream = await docker.importImage(Readable.from(tar) as never, { repo, tag, changes: ['ENV PATH=/bin:/usr/bin:/sbin', 'CMD ["/bin/sh"]'] } as never);
  await follow(docker, stream as NodeJS.ReadableStream);
  if (!(await imageExists(docker, ref))) throw new Error(`importing ${ref} did not make the image`);
  return ref;
}
