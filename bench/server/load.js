#!/usr/bin/env node
/**
 * Load on a real `sous server` (separate process, memory clusters):
 *  1. 200 concurrent deploy requests for 200 different deployments: all
 *     accepted and all in the final GDM;
 *  2. 50 concurrent deploys of 50 versions to the same deployment: every
 *     accepted write is in the history, none silently lost;
 *  3. GET /gdm throughput on a 5,000-manifest state, against fastify serving
 *     the same pre-rendered JSON document, side by side (wrk when installed).
 *     Goal: at least 0.5x.
 *
 *   node bench/server/load.js [--manifests 5000] [--seconds 5]
 * Needs `npm run build`.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn, execFileSync } = require('node:child_process');
const { option } = require('../lib/stats');
const { freePort } = require('../lib/ports');
const root = path.resolve(__dirname, '../..');
const core = require(path.join(root, 'packages/core/dist'));
const BIN = path.join(root, 'packages/cli/bin/run.js');

const args = process.argv.slice(2);
const MANIFESTS = Number(option(args, 'manifests', 5000));
const SECONDS = Number(option(args, 'seconds', 5));
const user = { name: 'Bench', email: 'bench@example.com' };

function env(dir) {
  return { ...process.env, HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'cfg'), XDG_DATA_HOME: path.join(dir, 'data'), SOUS_STATE_LOCATION: path.join(dir, 'state'), SOUS_USER_NAME: 'Bench', SOUS_USER_EMAIL: 'bench@example.com' };
}

async function startSous(dir) {
  const e = env(dir);
  const token = execFileSync(process.execPath, [BIN, 'server', 'token', 'create', '--name', 'bench', '--scope', 'admin'], { env: e, encoding: 'utf8' }).trim();
  const port = await freePort();
  const child = spawn(process.execPath, [BIN, 'server', '--listen', `127.0.0.1:${port}`, '--autoresolver', '--resync', '1h'], { env: e, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(url + '/health')).ok) return { url, token, child };
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server did not start: ${err}`);
}

/** One small real image in the registry, which every seeded artifact names (deploys check it exists). */
async function benchImage() {
  const registry = process.env.SOUS_DOCKER_REGISTRY_HOST || '127.0.0.1:5000';
  const c = new core.RegistryClient(registry);
  const layer = Buffer.from('sous bench layer');
  const ld = core.digestOf(layer);
  await c.pushBlob('bench/app', ld, layer);
  const cfg = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [ld] }, config: {} }));
  await c.pushBlob('bench/app', core.digestOf(cfg), cfg);
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: core.MEDIA_TYPES.dockerManifest, config: { mediaType: core.MEDIA_TYPES.dockerConfig, size: cfg.length, digest: core.digestOf(cfg) }, layers: [{ mediaType: core.MEDIA_TYPES.dockerLayer, size: layer.length, digest: ld }] }));
  const digest = await c.putManifest('bench/app', 'latest', manifest, core.MEDIA_TYPES.dockerManifest);
  return { image: `${registry}/bench/app`, digest };
}

async function seed(dir, n, { artifactsFor = [] } = {}) {
  const img = artifactsFor.length ? await benchImage() : undefined;
  const gdm = await core.Gdm.open(path.join(dir, 'state'), { user });
  await gdm.update((s) => ({ change: { message: 'clusters', defs: { ...s.defs, Clusters: { mem: { Name: 'mem', Kind: 'memory', BaseURL: '', Env: {}, AllowedAdvisories: [] } } } }, result: undefined }), user);
  // Many manifests at once: written as files and committed with git itself (seeding is not what is measured).
  const state = path.join(dir, 'state');
  for (let i = 0; i < n; i++) {
    const f = path.join(state, 'manifests/github.com/bench', `app${i}.yaml`);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, core.renderYaml(core.canonicalManifest({ Source: `github.com/bench/app${i}`, Owners: [], Kind: 'http-service', Deployments: { mem: { Resources: { cpus: '0.1', memory: '100', ports: '1' }, NumInstances: 1, Volumes: [] } } })));
  }
  for (const [i, versions] of artifactsFor) {
    for (const v of versions) {
      const f = path.join(state, 'artifacts/github.com/bench', `app${i}`, `${v}.yaml`);
      fs.mkdirSync(path.dirname(f), { recursive: true });
      fs.writeFileSync(f, core.renderYaml({ Source: `github.com/bench/app${i}`, Version: v, Revision: 'a'.repeat(40), Image: img.image, Digest: img.digest, Advisories: [], Deployable: true }));
    }
  }
  execFileSync('git', ['add', '-A'], { cwd: state });
  execFileSync('git', ['-c', 'user.name=Bench', '-c', 'user.email=b@e', 'commit', '-qm', 'seed'], { cwd: state });
}

async function put(url, token, i, version) {
  const res = await fetch(`${url}/single-deployment?repo=github.com/bench/app${i}&cluster=mem`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'if-match': '*' },
    body: JSON.stringify({ version }),
  });
  const text = await res.text();
  if (res.status !== 201 && !put.reported) {
    put.reported = true;
    console.log(`  (first refusal: ${res.status} ${text.slice(0, 300)})`);
  }
  return res.status;
}

async function manyDeployments() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sous-bench-deploys-'));
  await seed(dir, 200, { artifactsFor: Array.from({ length: 200 }, (_, i) => [i, ['1.0.0']]) });
  const s = await startSous(dir);
  const t0 = Date.now();
  const codes = await Promise.all(Array.from({ length: 200 }, (_, i) => put(s.url, s.token, i, '1.0.0')));
  const ms = Date.now() - t0;
  s.child.kill('SIGTERM');
  await new Promise((r) => s.child.on('exit', r));
  const gdm = await core.Gdm.open(path.join(dir, 'state'), { user });
  const state = await gdm.read();
  const inGdm = [...state.manifests.values()].filter((m) => m.manifest.Deployments.mem.Version === '1.0.0').length;
  return { accepted: codes.filter((c) => c === 201).length, inGdm, ms };
}

async function sameDeployment() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sous-bench-same-'));
  const versions = Array.from({ length: 50 }, (_, v) => `1.0.${v}`);
  await seed(dir, 1, { artifactsFor: [[0, versions]] });
  const s = await startSous(dir);
  const t0 = Date.now();
  const codes = await Promise.all(versions.map((v) => put(s.url, s.token, 0, v)));
  const ms = Date.now() - t0;
  s.child.kill('SIGTERM');
  await new Promise((r) => s.child.on('exit', r));
  const log = execFileSync('git', ['log', '--format=%s'], { cwd: path.join(dir, 'state'), encoding: 'utf8' });
  const accepted = versions.filter((_, i) => codes[i] === 201);
  const inHistory = accepted.filter((v) => log.includes(`Deploy github.com/bench/app0 ${v} to mem`));
  return { accepted: accepted.length, refused: codes.filter((c) => c !== 201).length, inHistory: inHistory.length, ms };
}

function wrk(url, token) {
  const out = execFileSync('wrk', ['-t2', '-c32', `-d${SECONDS}s`, '-H', `Authorization: Bearer ${token}`, url], { encoding: 'utf8' });
  return Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]);
}

async function fetchLoop(url, token) {
  const end = Date.now() + SECONDS * 1000;
  let n = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (Date.now() < end) {
        const r = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
        await r.arrayBuffer();
        n++;
      }
    }),
  );
  return n / SECONDS;
}

async function gdmThroughput() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sous-bench-gdm-'));
  await seed(dir, MANIFESTS);
  const s = await startSous(dir);
  const body = await (await fetch(s.url + '/gdm', { headers: { authorization: `Bearer ${s.token}` } })).text();
  const file = path.join(dir, 'gdm.json');
  fs.writeFileSync(file, body);
  const port = await freePort();
  const plain = spawn(process.execPath, ['-e', `
    const f = require(${JSON.stringify(require.resolve('fastify', { paths: [path.join(root, 'packages/server')] }))})();
    const body = require('fs').readFileSync(${JSON.stringify(file)});
    f.get('/gdm', (req, reply) => reply.type('application/json').send(body));
    f.listen({ host: '127.0.0.1', port: ${port} });`], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    try { if ((await fetch(`http://127.0.0.1:${port}/gdm`)).ok) break; } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  let hasWrk = true;
  try { execFileSync('wrk', ['--version'], { stdio: 'ignore' }); } catch (e) { hasWrk = e.status === 1; }
  const measure = hasWrk ? wrk : fetchLoop;
  const base = await measure(`http://127.0.0.1:${port}/gdm`, s.token);
  const sous = await measure(`${s.url}/gdm`, s.token);
  plain.kill();
  s.child.kill('SIGTERM');
  return { base, sous, bytes: body.length, tool: hasWrk ? 'wrk -t2 -c32' : 'fetch x32' };
}

(async () => {
  const a = await manyDeployments();
  console.log(`200 concurrent deploys of 200 deployments: ${a.accepted} accepted, ${a.inGdm} in the final GDM, ${(a.ms / 1000).toFixed(1)} s (${(200 / (a.ms / 1000)).toFixed(0)}/s)`);
  const b = await sameDeployment();
  console.log(`50 concurrent deploys of one deployment: ${b.accepted} accepted, ${b.refused} refused, ${b.inHistory} of the accepted in the history, ${(b.ms / 1000).toFixed(1)} s`);
  const c = await gdmThroughput();
  const ratio = c.sous / c.base;
  console.log(`GET /gdm, ${MANIFESTS} manifests (${(c.bytes / 1048576).toFixed(1)} MB), ${c.tool}, ${SECONDS}s each:`);
  console.log(`  fastify serving the pre-rendered document  ${c.base.toFixed(0)} req/s`);
  console.log(`  sous server                                ${c.sous.toFixed(0)} req/s`);
  console.log(`  ratio ${ratio.toFixed(2)}x (goal ≥ 0.5x) ${ratio >= 0.5 ? 'ok' : 'MISSED'}`);
  const ok = a.accepted === 200 && a.inGdm === 200 && b.inHistory === b.accepted && ratio >= 0.5;
  process.exit(ok ? 0 : 1);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
