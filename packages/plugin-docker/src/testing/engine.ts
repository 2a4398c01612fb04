/**
 * What the plugin's tests run against: the local engine and registry
 * (scripts/local-engine.js, reused when running), the busybox base image
 * (scripts/base-images.js), and clean-up of everything a test run made.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type Dockerode from 'dockerode';
import * as tarFs from 'tar-fs';
import { connectEngine } from '../engine';
import { readMessages } from '../stream';

export const ROOT = path.resolve(__dirname, '../../../..');
export const BUSYBOX = 'sous-local/busybox:latest';
/** How a client asks a registry for the digest the engine pushed (a v2 or OCI image manifest's). */
export const V2_ACCEPT = 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json';
/** Every image a test run makes carries this label, with the run's id. */
export const TEST_LABEL = 'dev.sous.test-run';

export interface TestEngine {
  docker: Dockerode;
  dockerHost: string;
  /** host:port of the local registry. */
  registry: string;
  /** This run's id: image names and the test label use it. */
  run: string;
}

/** Starts (or reuses) the engine and registry, and makes sure the busybox base exists. */
export async function testEngine(): Promise<TestEngine> {
  let dockerHost = process.env.SOUS_TEST_DOCKER_HOST;
  let registry = process.env.SOUS_TEST_REGISTRY;
  if (!dockerHost || !registry) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const le = require(path.join(ROOT, 'scripts/local-engine.js')) as { start(): Promise<{ dockerHost: string; registry: string }> };
    ({ dockerHost, registry } = await le.start());
  }
  process.env.DOCKER_HOST = dockerHost;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const base = require(path.join(ROOT, 'scripts/base-images.js')) as { ensure(n: string[], o: { log(m: string): void }): unknown };
  base.ensure(['busybox'], { log: () => undefined });
  return { docker: connectEngine(dockerHost), dockerHost, registry, run: crypto.randomBytes(4).toString('hex') };
}

/** Removes the images this run made (by label) and their manifests in the registry. */
export async function cleanUp(eng: TestEngine): Promise<void> {
  const images = await eng.docker.listImages({ filters: JSON.stringify({ label: [`${TEST_LABEL}=${eng.run}`] }) });
  for (const img of images) {
    for (const ref of img.RepoTags ?? []) {
      const [repo, tag] = [ref.slice(0, ref.lastIndexOf(':')), ref.slice(ref.lastIndexOf(':') + 1)];
      if (repo.startsWith(`${eng.registry}/`)) await deleteFromRegistry(eng.registry, repo.slice(eng.registry.length + 1), tag);
    }
    await eng.docker.getImage(img.Id).remove({ force: true }).catch(() => undefined);
  }
}

async function deleteFromRegistry(registry: string, name: string, tag: string): Promise<void> {
  try {
    const head = await fetch(`http://${registry}/v2/${name}/manifests/${tag}`, { method: 'HEAD', headers: { Accept: V2_ACCEPT } });
    const digest = head.headers.get('docker-content-digest');
    if (digest) await fetch(`http://${registry}/v2/${name}/manifests/${digest}`, { method: 'DELETE' });
  } catch {
    // The registry is shared and optional to tidy.
  }
}

/** A temporary directory with the given files (path → content). */
export function tempDir(files: Record<string, string> = {}, prefix = 'sous-docker-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  for (const [p, c] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
    fs.writeFileSync(path.join(dir, p), c);
  }
  return dir;
}

/** Reads one file out of an image, without running it. */
export async function readFromImage(docker: Dockerode, image: string, file: string): Promise<string> {
  const c = await docker.createContainer({ Image: image, Cmd: ['true'] });
  const out = tempDir({}, 'sous-docker-out-');
  try {
    const archive = (await c.getArchive({ path: file })) as NodeJS.ReadableStream;
    await new Promise<void>((resolve, reject) => {
      const x = tarFs.extract(out);
      x.on('finish', resolve).on('error', reject);
      archive.on('error', reject);
      archive.pipe(x);
    });
    return fs.readFileSync(path.join(out, path.basename(file)), 'utf8');
  } finally {
    await c.remove({ force: true });
    fs.rmSync(out, { recursive: true, force: true });
  }
}

/** An image made of one file that no build has seen, pushed to the registry and removed locally: it exists only there. */
export async function registryOnlyImage(eng: TestEngine, name: string): Promise<{ repo: string; digest: string }> {
  const rootfs = tempDir({ 'marker.txt': crypto.randomBytes(16).toString('hex') });
  const repo = `${eng.registry}/${name}`;
  try {
    const s = (await eng.docker.importImage(tarFs.pack(rootfs) as never, { repo, tag: 'base', changes: [`LABEL ${TEST_LABEL}=${eng.run}`] } as never)) as NodeJS.ReadableStream;
    await readMessages(s as never, () => undefined);
  } finally {
    fs.rmSync(rootfs, { recursive: true, force: true });
  }
  let digest = '';
  const push = (await eng.docker.getImage(repo).push({ tag: 'base', authconfig: { serveraddress: eng.registry } })) as NodeJS.ReadableStream;
  await readMessages(push as never, (m) => {
    if (m.error) throw new Error(m.error);
    digest = (m.aux as { Digest?: string } | undefined)?.Digest ?? digest;
  });
  await eng.docker.getImage(`${repo}:base`).remove();
  return { repo, digest };
}

/** A registry that answers every request with `status` and a registry-style error: a read-only registry. */
export async function refusingRegistry(status = 403, message = 'this registry is read-only'): Promise<{ host: string; close(): Promise<void> }> {
  const srv = http.createServer((req, res) => {
    req.resume();
    res.writeHead(status, { 'Content-Type': 'application/json', 'Docker-Distribution-Api-Version': 'registry/2.0' });
    res.end(JSON.stringify({ errors: [{ code: 'DENIED', message }] }));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { host: `127.0.0.1:${(srv.address() as AddressInfo).port}`, close: () => new Promise((r) => srv.close(() => r())) };
}

/** A loopback port nothing listens on. */
export async function deadPort(): Promise<number> {
  const srv = http.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}
