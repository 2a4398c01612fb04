#!/usr/bin/env node
/**
 * `sous plan --all` (the real binary) of an original Sous GDM of 2,000
 * deployments (versions `X+revision`, no Digest, GDM Metadata, the original's
 * field set) against a Singularity answering with what the original deployed
 * for them (requests and deploy histories built from the original's own
 * ext/singularity/testdata; test/helpers/original-world.js): adopted, no
 * changes, the digests found from the running deploys. Baseline, in the same
 * run: the same plan against this Sous's own GDM of the same deployments
 * (Digest and Image pinned) and the deploys this Sous makes (its spec in the
 * deploy metadata). Runs alternate. Goal: at most 1.2x.
 *
 *   node bench/legacy/adopt.js [--deployments 2000] [--runs 5]
 * Needs `npm run build`. The Singularity here is an HTTP server of the
 * modelled answers, not a live Singularity.
 */
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { execFile, execFileSync } = require('node:child_process');
const { median, option, report } = require('../lib/stats');

const ROOT = path.resolve(__dirname, '../..');
const SOUS = path.join(ROOT, 'packages/cli/bin/run.js');
const world = require(path.join(ROOT, 'test/helpers/original-world.js'));
const core = require(path.join(ROOT, 'packages/core/dist'));
const sing = require(path.join(ROOT, 'packages/plugin-scheduler-singularity/dist'));

const args = process.argv.slice(2);
const N = Number(option(args, 'deployments', 2000));
const RUNS = Number(option(args, 'runs', 5));
const GOAL = 1.2;

const CLUSTER_ENV = { OT_ENV: 'prod-east', OT_ENV_TYPE: 'prod' };
const STARTUP = { ConnectDelay: 60, Timeout: 10, ConnectInterval: 1, CheckReadyProtocol: 'HTTP', CheckReadyURIPath: '/health', CheckReadyFailureStatuses: [500, 503], CheckReadyURITimeout: 5, CheckReadyInterval: 1, CheckReadyRetries: 120 };
const hex = (i, n) => (String(i).padStart(8, '0') + 'f'.repeat(64)).slice(0, n).replace(/[^0-9a-f]/g, 'a');

function app(i) {
  const repo = `github.com/opentable/app-${i}`;
  const revision = hex(i, 40);
  return { i, repo, requestId: sing.requestIDFor({ source: { repo, dir: '' }, flavor: '' }, 'east'), tag: `1.${i % 7}.${i % 13}`, revision, digest: `sha256:${hex(i, 64)}`, instances: 1 + (i % 3), env: { APP_INDEX: String(i) } };
}

function yamlManifest(a, own) {
  return [
    `Source: ${a.repo}`,
    'Owners:',
    '- team@example.com',
    'Kind: http-service',
    'Deployments:',
    '  east:',
    '    Resources:',
    '      cpus: "0.1"',
    '      memory: "100"',
    '      ports: "1"',
    ...(own ? [] : ['    Metadata:', `      team: team-${a.i % 20}`]),
    '    Env:',
    `      APP_INDEX: "${a.i}"`,
    `    NumInstances: ${a.instances}`,
    '    Volumes: []',
    '    Startup: {}',
    '    Schedule: ""',
    `    Version: ${a.tag}+${a.revision}`,
    ...(own ? [`    Digest: ${a.digest}`, `    Image: docker.example.com/app-${a.i}`] : []),
    '',
  ].join('\n');
}

function stateRepo(dir, url, own, apps) {
  fs.mkdirSync(path.join(dir, 'manifests/github.com/opentable'), { recursive: true });
  const defs = ['DockerRepo: docker.example.com', 'Clusters:', '  east:', '    Kind: singularity', `    BaseURL: ${url}`, '    Env:', ...Object.entries(CLUSTER_ENV).map(([k, v]) => `      ${k}: ${v}`), '    Startup:'];
  for (const [k, v] of Object.entries(STARTUP)) defs.push(Array.isArray(v) ? `      ${k}:\n${v.map((x) => `      - ${x}`).join('\n')}` : `      ${k}: ${v}`);
  defs.push('    AllowedAdvisories: []', '');
  fs.writeFileSync(path.join(dir, 'defs.yaml'), defs.join('\n'));
  for (const a of apps) fs.writeFileSync(path.join(dir, `manifests/github.com/opentable/app-${a.i}.yaml`), yamlManifest(a, own));
  const git = (...a) => execFileSync('git', a, { cwd: dir, stdio: 'ignore' });
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('-c', 'user.name=Bench', '-c', 'user.email=bench@example.com', 'commit', '-q', '-m', 'state');
}

/** What the original deployed for app a. */
function originalAnswer(a) {
  return world.originalDeployment({ requestId: a.requestId, cluster: 'east', repo: a.repo, tag: a.tag, revision: a.revision, image: `docker.example.com/app-${a.i}@${a.digest}`, cpus: 0.1, memoryMb: 100, numPorts: 1, env: { ...CLUSTER_ENV, ...a.env }, instances: a.instances, owners: ['team@example.com'], startup: STARTUP, n: a.i });
}

/** What this Sous deploys for app a: the same request and deploy shapes, its own metadata. */
function ownAnswer(a) {
  const o = originalAnswer(a);
  const spec = core.expandDeploySpec(
    { Resources: { cpus: '0.1', memory: '100', ports: '1' }, Env: a.env, NumInstances: a.instances, Volumes: [], Startup: {}, Schedule: '', Version: `${a.tag}+${a.revision}`, Digest: a.digest, Image: `docker.example.com/app-${a.i}` },
    { Kind: 'singularity', Env: CLUSTER_ENV, Startup: STARTUP },
  );
  const state = { id: `east:${a.repo}`, manifestID: { source: { repo: a.repo, dir: '' }, flavor: '' }, cluster: 'east', kind: 'http-service', owners: ['team@example.com'], spec, status: 'Active' };
  const dep = sing.deployBody(state, { requestId: a.requestId, deployId: o.history.deploy.id }, `docker.example.com/app-${a.i}@${a.digest}`);
  o.parent.activeDeploy = dep;
  o.history.deploy = dep;
  return o;
}

function serve(answers) {
  const routes = new Map();
  for (const [prefix, list] of Object.entries(answers)) {
    routes.set(`${prefix}/api/requests`, JSON.stringify(list.map((x) => x.parent)));
    for (const { parent, history } of list) {
      const rid = encodeURIComponent(parent.request.id);
      routes.set(`${prefix}/api/history/request/${rid}/deploys`, JSON.stringify([{ deployMarker: history.deployMarker }]));
      routes.set(`${prefix}/api/history/request/${rid}/deploy/${encodeURIComponent(history.deploy.id)}`, JSON.stringify(history));
    }
  }
  const server = http.createServer((req, res) => {
    const body = routes.get(req.url.split('?')[0]);
    res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' });
    res.end(body ?? '{"message":"not found"}');
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** One `sous plan` process (asynchronous: the Singularity server answers from this process). */
async function plan(dir, home) {
  const t0 = process.hrtime.bigint();
  const env = { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: path.join(home, 'cfg'), XDG_DATA_HOME: path.join(home, 'data'), SOUS_STATE_LOCATION: dir, SOUS_USER_NAME: 'Bench', SOUS_USER_EMAIL: 'bench@example.com', NO_COLOR: '1' };
  const stdout = await new Promise((resolve, reject) =>
    execFile(process.execPath, [SOUS, 'plan', '--all', '--json'], { cwd: home, encoding: 'utf8', maxBuffer: 1 << 28, env }, (err, out, errOut) => (err ? reject(new Error(`sous plan failed: ${errOut || err.message}`)) : resolve(out))),
  );
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const p = JSON.parse(stdout).plan;
  return { ms, actions: p.actions.length, unchanged: p.unchanged.length, pins: (p.pins ?? []).length, errors: p.errors.length };
}

async function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sous-bench-adopt-'));
  try {
    const apps = Array.from({ length: N }, (_, i) => app(i));
    const server = await serve({ '/original': apps.map(originalAnswer), '/own': apps.map(ownAnswer) });
    const url = `http://127.0.0.1:${server.address().port}`;
    const original = path.join(tmp, 'original');
    const own = path.join(tmp, 'own');
    stateRepo(original, `${url}/original`, false, apps);
    stateRepo(own, `${url}/own`, true, apps);
    const home = path.join(tmp, 'home');
    fs.mkdirSync(home);
    const samples = { original: [], own: [] };
    let last;
    await plan(original, home); // warm the file cache for both
    await plan(own, home);
    for (let r = 0; r < RUNS; r++) {
      const o = await plan(original, home);
      const s = await plan(own, home);
      for (const [name, x] of [['original', o], ['own', s]]) {
        if (x.actions || x.errors || x.unchanged !== N) throw new Error(`${name} GDM: expected ${N} unchanged and no action, got ${JSON.stringify(x)}`);
      }
      if (o.pins !== N || s.pins !== 0) throw new Error(`expected ${N} digests found for the original GDM and none for Sous's, got ${o.pins} and ${s.pins}`);
      samples.original.push(o.ms);
      samples.own.push(s.ms);
      last = o;
    }
    server.close();
    console.log(`sous plan --all, ${N} deployments on one Singularity cluster, ${RUNS} runs each, alternating (${last.unchanged} unchanged, ${last.pins} digests found, 0 actions)`);
    const ok = report('plan', { name: "Sous's own GDM and deploys", samples: samples.own }, [{ name: 'original GDM, adopted', samples: samples.original }], GOAL);
    console.log(`medians: own ${median(samples.own).toFixed(0)} ms, original ${median(samples.original).toFixed(0)} ms`);
    process.exitCode = ok ? 0 : 3;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
