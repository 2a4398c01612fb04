/**
 * A real engine and registry: build a trivial image on the locally imported
 * busybox base through dockerode, push it, and read its digest back over the
 * registry's HTTP API.
 */
import * as http from 'node:http';
import { pack } from 'tar-stream';
import { busyboxBase, engine, follow } from '../helpers/base-images';

const registry = process.env.SOUS_TEST_REGISTRY;
const MANIFEST_TYPES = ['application/vnd.docker.distribution.manifest.v2+json', 'application/vnd.oci.image.manifest.v1+json'];

function head(url: string, accept: string[]): Promise<{ status: number; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'HEAD', headers: { Accept: accept.join(', ') } }, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, headers: res.headers });
    });
    req.on('error', reject);
    req.end();
  });
}

async function context(files: Record<string, string>): Promise<NodeJS.ReadableStream> {
  const p = pack();
  for (const [name, text] of Object.entries(files)) p.entry({ name }, text);
  p.finalize();
  return p as unknown as NodeJS.ReadableStream;
}

describe('the engine and registry from global setup', () => {
  it('are running and known to the tests', async () => {
    expect(process.env.DOCKER_HOST).toMatch(/^(unix|tcp):\/\//);
    expect(registry).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(await engine().ping()).toBeTruthy();
    expect((await head(`http://${registry}/v2/`, [])).status).toBe(200);
  });

  it('build a trivial image from the local busybox base, push it, and the registry reports the same digest', async () => {
    const docker = engine();
    const base = await busyboxBase(docker);
    // The second call reuses the cached image.
    expect(await busyboxBase(docker)).toBe(base);
    const tag = `t${Date.now().toString(36)}${process.pid}`;
    const name = 'sous-test/trivial';
    const ref = `${registry}/${name}:${tag}`;
    const build = await docker.buildImage(await context({ Dockerfile: `FROM ${base}\nRUN echo hello from sous > /hello.txt\nCMD ["cat", "/hello.txt"]\n` }), { t: ref, rm: true, forcerm: true });
    const events = await follow(docker, build);
    expect(events.some((e) => typeof e.stream === 'string' && /Successfully (built|tagged)/.test(e.stream))).toBe(true);

    // It runs.
    const container = await docker.createContainer({ Image: ref });
    try {
      await container.start();
      await container.wait();
      const logs = (await container.logs({ stdout: true, stderr: true })) as unknown as Buffer;
      expect(logs.toString('utf8')).toContain('hello from sous');
    } finally {
      await container.remove({ force: true });
    }

    const pushed = await follow(docker, await docker.getImage(ref).push({ authconfig: { serveraddress: registry } } as never));
    const digest = pushed.map((e) => e.aux?.Digest).find(Boolean) as string;
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);

    const r = await head(`http://${registry}/v2/${name}/manifests/${tag}`, MANIFEST_TYPES);
    expect(r.status).toBe(200);
    expect(r.headers['docker-content-digest']).toBe(digest);
    // And by digest.
    expect((await head(`http://${registry}/v2/${name}/manifests/${digest}`, MANIFEST_TYPES)).status).toBe(200);
    await docker.getImage(ref).remove({ force: true });
  });
});
