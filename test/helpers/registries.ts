/**
 * Real registries for registry, signing and pre-cache tests: Debian's
 * docker-registry (CNCF distribution) on free 127.0.0.1 ports with temp
 * storage, stopped by pid afterwards; images pushed straight through the
 * distribution API (random layers, a config, a manifest), no engine needed.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { RegistryClient, digestOf, MEDIA_TYPES, type Descriptor } from '@sous/core';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const engine = require(path.resolve(__dirname, '../../scripts/local-engine.js')) as {
  startRegistry(dir: string, port: number): Promise<{ addr: string; started: boolean; pid?: number }>;
};

export interface TestRegistry {
  /** 127.0.0.1:PORT */
  addr: string;
  dir: string;
  stop(): Promise<void>;
}

/** A port nothing listens on (yet). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitGone(pid: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts a registry with its own storage under `dir`. */
export async function startRegistry(dir: string): Promise<TestRegistry> {
  const port = await freePort();
  const r = await engine.startRegistry(dir, port);
  if (!r.started || !r.pid) throw new Error(`a registry already answered on ${r.addr}`);
  const pid = r.pid;
  return {
    addr: r.addr,
    dir,
    stop: async () => {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        return;
      }
      await waitGone(pid);
    },
  };
}

/** The file a registry stores a blob's bytes in (to damage it on purpose). */
export function blobFile(reg: TestRegistry, digest: string): string {
  const hex = digest.slice('sha256:'.length);
  return path.join(reg.dir, 'data', 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
}

export interface TestImage {
  digest: string;
  manifest: Buffer;
  config: Descriptor;
  layers: Descriptor[];
  /** Manifest, config and layers. */
  totalBytes: number;
}

/** Random bytes, the content of a layer. */
export function randomLayer(size: number): Buffer {
  return crypto.randomBytes(size);
}

/** Pushes an image made of these layers (and a config naming them) through the API; tags it when asked. */
export async function pushImage(registry: string, repository: string, layers: Buffer[], opts: { tag?: string; oci?: boolean; labels?: Record<string, string> } = {}): Promise<TestImage> {
  const c = new RegistryClient(registry);
  const layerType = opts.oci ? MEDIA_TYPES.ociLayer : MEDIA_TYPES.dockerLayer;
  const descs: Descriptor[] = [];
  for (const l of layers) {
    const d = digestOf(l);
    if ((await c.headBlob(repository, d)) === undefined) await c.pushBlob(repository, d, l);
    descs.push({ mediaType: layerType, size: l.length, digest: d });
  }
  const cfgBytes = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: descs.map((d) => d.digest) }, config: { Labels: { nonce: crypto.randomUUID(), ...opts.labels } } }));
  const config: Descriptor = { mediaType: opts.oci ? MEDIA_TYPES.ociConfig : MEDIA_TYPES.dockerConfig, size: cfgBytes.length, digest: digestOf(cfgBytes) };
  await c.pushBlob(repository, config.digest, cfgBytes);
  const mediaType = opts.oci ? MEDIA_TYPES.ociManifest : MEDIA_TYPES.dockerManifest;
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType, config, layers: descs }));
  const digest = await c.putManifest(repository, opts.tag ?? digestOf(manifest), manifest, mediaType);
  return { digest, manifest, config, layers: descs, totalBytes: manifest.length + config.size + descs.reduce((n, d) => n + d.size, 0) };
}

/**
 * An HTTP front for a real registry that refuses manifest PUTs whose
 * reference matches `refuse` (answering `status` with a registry error body)
 * and passes everything else through.
 */
export async function refusingProxy(upstream: string, refuse: RegExp, status = 403, message = 'requested access to the resource is denied'): Promise<{ addr: string; refused: number; requests: string[]; close(): Promise<void> }> {
  const state = { refused: 0 };
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    if (req.method === 'PUT' && /\/manifests\//.test(req.url ?? '') && refuse.test(req.url ?? '')) {
      state.refused++;
      req.resume();
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'DENIED', message }] }));
      return;
    }
    const [host, port] = upstream.split(':');
    const up = http.request({ host, port: Number(port), method: req.method, path: req.url, headers: req.headers }, (ur) => {
      const headers = { ...ur.headers };
      // Upload locations name the upstream: point them back at the proxy.
      if (typeof headers.location === 'string') headers.location = headers.location.replace(`//${upstream}`, `//${req.headers.host}`);
      res.writeHead(ur.statusCode ?? 502, headers);
      ur.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return {
    addr,
    requests,
    get refused() {
      return state.refused;
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

export function rmrf(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}
