/**
 * The world of the tag build tests: a git daemon remote for one application
 * (test/fixtures/dockerfile-app), a working clone to tag and push from, a
 * GDM that registers the application, a signing key, a receiver for Sous's
 * own webhooks (signatures checked), optionally a cluster registry behind a
 * proxy that can hold every request, and a real `sous server` building tags.
 */
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Gdm, type Cluster, type Manifest } from '@sous/core';
import { writeKeyPair } from '@sous/plugin-sign';
import { verifyWebhookSignature } from '@sous/plugin-notify-webhook';
import { testEngine, V2_ACCEPT, type TestEngine } from '../../packages/plugin-docker/src/testing/engine';
import { gitIn, startGitRemote, type GitRemote } from './git-remote';
import { freePort, startRegistry, type TestRegistry } from './registries';
import { api, startServer, type RunningServer } from './server';
import { makeSousEnv, requireBuilt, type SousEnv } from './sous';

export const FIXTURE = path.resolve(__dirname, '../fixtures/dockerfile-app');
export const USER = { name: 'Test User', email: 'test@example.com' };
const PASSPHRASE = 'tag builds passphrase';

/** Sous events as the receiver got them. */
export interface Received {
  type: string;
  version: string;
  user: { name: string; email: string };
  [k: string]: unknown;
}

/** A proxy in front of a registry that holds uploads while told to: a pre-cache that waits. */
export interface HoldingProxy {
  addr: string;
  holding: boolean;
  /** Resolves at the next upload held. */
  nextHeld(): Promise<void>;
  release(): void;
  close(): Promise<void>;
}

async function holdingProxy(upstream: string): Promise<HoldingProxy> {
  const [host, port] = upstream.split(':');
  let waiters: (() => void)[] = [];
  const held: { req: http.IncomingMessage; go: () => void }[] = [];
  const p = {
    holding: true,
    addr: '',
    nextHeld: () => new Promise<void>((r) => waiters.push(r)),
    release() {
      p.holding = false;
      for (const h of held.splice(0)) if (!h.req.destroyed) h.go();
    },
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
  const server = http.createServer((req, res) => {
    const go = () => {
      const up = http.request({ host, port: Number(port), method: req.method, path: req.url, headers: req.headers }, (ur) => {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        ur.pipe(res);
      });
      up.on('error', () => res.destroy());
      req.pipe(up);
    };
    // Only uploads wait: those are the pre-cache's, while a clean-up only looks and deletes.
    if (!p.holding || !['POST', 'PUT', 'PATCH'].includes(req.method ?? '')) return go();
    held.push({ req, go });
    const w = waiters;
    waiters = [];
    for (const r of w) r();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  p.addr = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return p;
}

export interface WorldOptions {
  /** A short name for this world's repository. */
  name: string;
  /** The remote sends webhooks on push (default true). */
  hook?: boolean;
  /** The deployments of the manifest and the clusters they are in. */
  clusters: Record<string, Cluster & { deploy?: { AutoDeploy?: string } }>;
  /** Put a held cluster registry in the named cluster. */
  heldRegistryIn?: string;
  /** Extra operator config (YAML lines). */
  config?: string[];
}

export interface World {
  eng: TestEngine;
  env: SousEnv;
  dir: string;
  repo: string;
  remote: GitRemote;
  work: string;
  secret: string;
  keys: { publicKey: string; keyId: string };
  port: number;
  server?: RunningServer;
  proxy?: HoldingProxy;
  clusterRegistry?: TestRegistry;
  events: Received[];
  /** Deliveries to the receiver whose signature did not check. */
  forged: number;
  /** The registry repository of the application's images. */
  imageRepo: string;
  start(args?: string[]): Promise<RunningServer>;
  builds(query?: string): Promise<any[]>; // eslint-disable-line @typescript-eslint/no-explicit-any
  tag(name: string, tagger?: { name: string; email: string }): string;
  commit(file: string, content: string): string;
  push(...args: string[]): string;
  digestOf(tag: string, registry?: string): Promise<string | null>;
  hasManifest(digest: string, registry?: string): Promise<boolean>;
  destroy(): Promise<void>;
}

/** Resolves once `what()` holds (checked every 100 ms). */
export async function until<T>(what: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 120_000, label = 'a condition'): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await what();
    if (v) return v as T;
    if (Date.now() > end) throw new Error(`timed out waiting for ${label}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function makeWorld(o: WorldOptions): Promise<World> {
  requireBuilt();
  const eng = await testEngine();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `sous-tag-${o.name}-`));
  const env = makeSousEnv(dir);
  const repo = `github.com/sous-test/shop-${eng.run}-${o.name}`;
  const secret = crypto.randomBytes(24).toString('hex');
  const receiverSecret = crypto.randomBytes(24).toString('hex');
  const port = await freePort();
  const remote = await startGitRemote(path.join(dir, 'remote'));
  remote.create('shop', o.hook === false ? undefined : { url: `http://127.0.0.1:${port}/hooks/github`, secret, htmlUrl: `https://${repo}` });

  const work = path.join(dir, 'work');
  fs.cpSync(FIXTURE, work, { recursive: true });
  gitIn(work, 'init', '-q', '-b', 'main');
  gitIn(work, 'add', '-A');
  gitIn(work, 'commit', '-q', '-m', 'A Dockerfile app');
  gitIn(work, 'remote', 'add', 'origin', remote.url('shop'));
  gitIn(work, 'push', '-q', 'origin', 'main');

  const keys = writeKeyPair({ dir: path.join(dir, 'keys'), name: 'ci', passphrase: PASSPHRASE });
  const events: Received[] = [];
  const world = { forged: 0 } as World;
  const receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (!verifyWebhookSignature(body, req.headers['x-sous-signature'], receiverSecret).ok) world.forged++;
      else events.push(JSON.parse(body.toString('utf8')) as Received);
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));

  let clusterRegistry: TestRegistry | undefined;
  let proxy: HoldingProxy | undefined;
  if (o.heldRegistryIn) {
    clusterRegistry = await startRegistry(path.join(dir, 'cluster-registry'));
    proxy = await holdingProxy(clusterRegistry.addr);
  }
  const clusters: Record<string, Cluster> = {};
  const deployments: NonNullable<Manifest['Deployments']> = {};
  for (const [name, { deploy, ...c }] of Object.entries(o.clusters)) {
    clusters[name] = { ...c, ...(name === o.heldRegistryIn ? { Registry: proxy!.addr } : {}) };
    deployments[name] = { NumInstances: 1, ...(deploy ?? {}) };
  }
  const gdm = await Gdm.open(env.state, { user: USER });
  await gdm.update((s) => ({ change: { message: 'clusters and the application', defs: { ...s.defs, Clusters: clusters }, setManifests: [{ Source: repo, Owners: ['owner@example.com'], Kind: 'http-service', Deployments: deployments }] }, result: undefined }), USER);

  fs.mkdirSync(path.join(env.config, 'sous'), { recursive: true });
  fs.writeFileSync(
    path.join(env.config, 'sous', 'config.yaml'),
    [
      'logLevel: info',
      `signingKey: ${keys.privateKey}`,
      `webhookSecret: ${secret}`,
      'repositories:',
      `  ${repo}:`,
      `    url: ${remote.url('shop')}`,
      'notifiers:',
      '  - type: webhook',
      `    url: http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`,
      `    secret: ${receiverSecret}`,
      "    events: ['build.*', 'artifact.ready', 'contract.failed', 'deploy.requested']",
      '    retry: { attempts: 3, minDelayMs: 50, maxDelayMs: 200 }',
      ...(o.config ?? []),
      '',
    ].join('\n'),
  );
  const serverEnv = { SOUS_DOCKER_REGISTRY_HOST: eng.registry, DOCKER_HOST: eng.dockerHost, SOUS_SIGNING_PASSPHRASE: PASSPHRASE };
  const imageRepo = repo.toLowerCase();
  const base = (registry?: string) => `http://${registry ?? eng.registry}/v2/${imageRepo}/manifests`;

  Object.assign(world, {
    eng,
    env,
    dir,
    repo,
    remote,
    work,
    secret,
    keys,
    port,
    proxy,
    clusterRegistry,
    events,
    imageRepo,
    async start(args: string[] = []) {
      world.server = await startServer(env, ['--listen', `127.0.0.1:${port}`, '--autoresolver', '--resync', '1h', ...args], serverEnv);
      return world.server;
    },
    async builds(query = '') {
      const r = await api(world.server!.url, world.server!.tokens.read, 'GET', `/builds${query}`);
      if (r.status !== 200) throw new Error(`GET /builds: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body.builds;
    },
    tag(name: string, tagger?: { name: string; email: string }) {
      if (tagger) execGit(work, tagger, 'tag', '-a', name, '-m', `release ${name}`);
      else gitIn(work, 'tag', name);
      return gitIn(work, 'rev-parse', `${name}^{commit}`);
    },
    commit(file: string, content: string) {
      fs.writeFileSync(path.join(work, file), content);
      gitIn(work, 'add', '-A');
      gitIn(work, 'commit', '-q', '-m', `change ${file}`);
      return gitIn(work, 'rev-parse', 'HEAD');
    },
    push: (...args: string[]) => gitIn(work, 'push', '-q', 'origin', ...args),
    async digestOf(tag: string, registry?: string) {
      const res = await fetch(`${base(registry)}/${tag}`, { method: 'HEAD', headers: { Accept: V2_ACCEPT } });
      return res.status === 200 ? res.headers.get('docker-content-digest') : null;
    },
    async hasManifest(digest: string, registry?: string) {
      const res = await fetch(`${base(registry)}/${digest}`, { method: 'HEAD', headers: { Accept: V2_ACCEPT } });
      return res.status === 200;
    },
    async destroy() {
      if (world.server) await world.server.stop('SIGKILL');
      await remote.stop();
      await new Promise<void>((r) => (receiver.closeAllConnections(), receiver.close(() => r())));
      await proxy?.close();
      await clusterRegistry?.stop();
      const res = await fetch(`http://${eng.registry}/v2/${imageRepo}/tags/list`).catch(() => undefined);
      const tags = res?.ok ? (((await res.json()) as { tags?: string[] }).tags ?? []) : [];
      for (const t of tags) {
        const d = await world.digestOf(t);
        if (d) await fetch(`${base()}/${d}`, { method: 'DELETE' }).catch(() => undefined);
      }
      const images = await eng.docker.listImages({ filters: JSON.stringify({ reference: [`${eng.registry}/${imageRepo}`] }) });
      for (const img of images) await eng.docker.getImage(img.Id).remove({ force: true }).catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  });
  return world;
}

function execGit(cwd: string, who: { name: string; email: string }, ...args: string[]): string {
  return execFileSync('git', ['-c', `user.name=${who.name}`, '-c', `user.email=${who.email}`, ...args], { cwd, encoding: 'utf8', env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1' } }).trim();
}
