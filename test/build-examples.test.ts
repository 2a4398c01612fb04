/**
 * `sous build --tag 1.0.0` of each example (examples/hello-node, hello-go,
 * hello-java) by stack conventions, end to end: the real binary, a real git
 * repository, the real engine and registry.
 *
 * Docker Hub cannot be reached here, so the stacks' base images are made
 * locally from this machine's files and Debian's packages by
 * scripts/base-images.js (cached between runs: the first run of the java
 * image takes a few minutes), and scripts/local-stacks.yaml points the
 * stacks at them. Maven Central cannot be reached either: the java example
 * builds offline against Debian's Maven repository (its sous.config.ts).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { testEngine, V2_ACCEPT, type TestEngine } from '../packages/plugin-docker/src/testing/engine';
import { gitIn as git } from './helpers/git-remote';
import { makeSousEnv, requireBuilt, ROOT, sous, type SousEnv } from './helpers/sous';

jest.setTimeout(900_000);

const EXAMPLES = ['hello-node', 'hello-go', 'hello-java'] as const;
const OWNER = 'sous-examples';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const baseImages = require(path.join(ROOT, 'scripts/base-images.js')) as { ensure(n: string[], o: { log(m: string): void }): { ref: string; status: string }[] };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const localStacks = require(path.join(ROOT, 'scripts/local-stacks.js')) as { writeLocalStacksConfig(dir: string, extra?: string): string };

let eng: TestEngine;
let tmp: string;
/** A CA certificate made for this run and handed to the builds: it must reach no run image. */
let testCa: { file: string; body: string };

async function registryJson(p: string, accept?: string): Promise<{ status: number; body: any; digest: string | null }> {
  const res = await fetch(`http://${eng.registry}${p}`, { headers: accept ? { Accept: accept } : {} });
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, body, digest: res.headers.get('docker-content-digest') };
}

function makeTestCa(dir: string): { file: string; body: string } {
  const file = path.join(dir, 'test-ca.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'test-ca.key'), '-out', file, '-days', '2', '-subj', '/CN=sous build-examples test CA'], { stdio: 'ignore' });
  const pem = fs.readFileSync(file, 'utf8');
  // A line from the middle of the base64 body: distinctive, and how a PEM copy of it would look on disk.
  const lines = pem.split('\n').filter((l) => l && !l.startsWith('-----'));
  return { file, body: lines[Math.floor(lines.length / 2)] };
}

/** Whether `needle` occurs anywhere in a container's filesystem (its export, read to the end). */
async function scanFilesystem(containerId: string, needle: string): Promise<{ found: boolean; bytes: number }> {
  const stream = (await eng.docker.getContainer(containerId).export()) as NodeJS.ReadableStream;
  let tail = '';
  let found = false;
  let bytes = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    const s = tail + chunk.toString('latin1');
    if (s.includes(needle)) found = true;
    tail = s.slice(-needle.length);
  }
  return { found, bytes };
}

async function waitFor(url: string, timeoutMs: number): Promise<Response> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < until) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) return res;
      last = `status ${res.status}`;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms: ${String(last)}`);
}

beforeAll(async () => {
  requireBuilt();
  eng = await testEngine();
  baseImages.ensure(['all'], { log: () => undefined });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sous-build-examples-'));
  testCa = makeTestCa(tmp);
}, 900_000);

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe.each(EXAMPLES)('sous build --tag 1.0.0 of examples/%s on local base images', (example) => {
  const repoName = `github.com/${OWNER}/${example}`;
  let env: SousEnv;
  let repoDir: string;
  let result: { status: string; digest: string; reference: string; image: string; tags: string[]; stack: string; revision: string; version: string };

  beforeAll(async () => {
    const dir = path.join(tmp, example);
    env = makeSousEnv(dir);
    // The operator config's caCerts plus this run's CA: the builds get both, the images neither.
    const cfg = localStacks.writeLocalStacksConfig(env.config);
    fs.writeFileSync(cfg, fs.readFileSync(cfg, 'utf8').replace('    - /etc/ssl/certs/ca-certificates.crt\n', `    - /etc/ssl/certs/ca-certificates.crt\n    - ${testCa.file}\n`));
    repoDir = path.join(dir, 'repo');
    fs.cpSync(path.join(ROOT, 'examples', example), repoDir, { recursive: true });
    git(repoDir, 'init', '-q', '-b', 'main');
    git(repoDir, 'add', '-A');
    git(repoDir, 'commit', '-q', '-m', `${example}`);
    git(repoDir, 'remote', 'add', 'origin', `https://${repoName}`);
    // As if pushed: the remote-tracking branch holds the commit (the origin is never contacted).
    git(repoDir, 'update-ref', 'refs/remotes/origin/main', 'HEAD');
    git(repoDir, 'tag', '1.0.0');
  });

  it('builds and pushes the version tag and the revision tag, with the digest the registry has', async () => {
    const r = await sous(env, ['build', '--tag', '1.0.0', '--json'], { cwd: repoDir, env: { SOUS_DOCKER_REGISTRY_HOST: eng.registry, DOCKER_HOST: eng.dockerHost } });
    if (r.code !== 0) throw new Error(`sous build exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
    result = r.json;
    const stack = example.replace('hello-', '');
    expect(result).toMatchObject({ status: 'built', stack, version: '1.0.0', image: `${eng.registry}/${repoName}`, revision: git(repoDir, 'rev-parse', 'HEAD') });
    expect(result.digest).toMatch(/^sha256:[a-f0-9]{64}$/);

    const tags = (await registryJson(`/v2/${repoName}/tags/list`)).body.tags as string[];
    expect(tags).toContain('1.0.0');
    const zTag = result.tags.map((t) => t.slice(t.lastIndexOf(':') + 1)).find((t) => t.startsWith('z'));
    expect(zTag).toMatch(new RegExp(`^z${result.revision}-\\d{8}T\\d{6}$`));
    expect(tags).toContain(zTag);
    for (const tag of ['1.0.0', zTag!]) expect((await registryJson(`/v2/${repoName}/manifests/${tag}`, V2_ACCEPT)).digest).toBe(result.digest);
  });

  it('carries the OCI and Sous labels and runs as a numeric non-root user', async () => {
    expect(result).toBeDefined();
    const manifest = await registryJson(`/v2/${repoName}/manifests/${result.digest}`, V2_ACCEPT);
    const config = (await registryJson(`/v2/${repoName}/blobs/${manifest.body.config.digest}`)).body.config as { Labels: Record<string, string>; User: string; Env: string[] };
    expect(config.Labels).toMatchObject({
      'org.opencontainers.image.source': `https://${repoName}`,
      'org.opencontainers.image.revision': result.revision,
      'org.opencontainers.image.version': '1.0.0',
      'com.opentable.sous.repo_url': repoName,
      'com.opentable.sous.repo_offset': '',
      'com.opentable.sous.version': '1.0.0',
      'com.opentable.sous.revision': result.revision,
    });
    expect(new Date(config.Labels['org.opencontainers.image.created']).toISOString()).toBe(config.Labels['org.opencontainers.image.created']);
    expect(config.User).toMatch(/^\d+(:\d+)?$/);
    expect(Number(config.User.split(':')[0])).toBeGreaterThan(0);
    expect(config.Env).toContain('APP_VERSION=1.0.0');
  });

  it('answers /health and reports 1.0.0 on / when run with PORT0 set, and holds no CA bundle of the build', async () => {
    expect(result).toBeDefined();
    const port = '9321';
    const container = await eng.docker.createContainer({
      Image: result.reference,
      Env: [`PORT0=${port}`],
      ExposedPorts: { [`${port}/tcp`]: {} },
      HostConfig: { PortBindings: { [`${port}/tcp`]: [{ HostIp: '127.0.0.1', HostPort: '' }] } },
      Labels: { 'dev.sous.test-run': eng.run },
    });
    try {
      await container.start();
      const info = await container.inspect();
      const hostPort = info.NetworkSettings.Ports[`${port}/tcp`]?.[0]?.HostPort;
      expect(hostPort).toBeTruthy();
      const health = await waitFor(`http://127.0.0.1:${hostPort}/health`, 60_000);
      expect(health.status).toBe(200);
      expect(health.headers.get('content-type')).toMatch(/json/);
      const root = (await (await fetch(`http://127.0.0.1:${hostPort}/`)).json()) as { version: string };
      expect(root.version).toBe('1.0.0');

      const top = await container.top({ ps_args: '-o pid,uid,args' });
      const uids = top.Processes.map((p) => Number(p[1]));
      expect(uids.length).toBeGreaterThan(0);
      expect(uids.every((u) => u !== 0)).toBe(true);

      const scan = await scanFilesystem(container.id, testCa.body);
      expect(scan.bytes).toBeGreaterThan(1000);
      expect(scan.found).toBe(false);
    } finally {
      await container.remove({ force: true }).catch(() => undefined);
    }
  });
});
