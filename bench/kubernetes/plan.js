#!/usr/bin/env node
/**
 * Planning 2,000 deployments on a Kubernetes cluster: the rectifier's plan
 * (Rectifier.plan: read the GDM, expand it, read the cluster, diff) with the
 * kubernetes scheduler reading the modelled API server
 * (test/helpers/kube-api-server.js, in a process of its own, holding the
 * 2,000 Deployments as the plugin applied them) against the same plan with
 * core's in-memory `memory` scheduler holding the same deployments,
 * interleaved in one process. Goal: at most 1.2x.
 *
 * Two kubernetes rows:
 * - a long-lived process (the server's autoresolver, `rectify --watch`): one
 *   scheduler for every plan, so from its second read on a watch keeps the
 *   Deployments (list, then watch from the list's resourceVersion). The goal
 *   is on this row.
 * - a one-shot process (`sous plan`): a new Sous, plugin and scheduler for
 *   every plan, so every plan lists all 2,000 Deployments. Reported beside it,
 *   with no goal: one list of 12 MB is more than the whole memory plan.
 * Before every timed round, someone else scales one Deployment by hand (a
 * different one each round; the last one is put back), in the API server and
 * in the memory scheduler alike: every plan must report exactly that scale,
 * so a watch that missed a change fails the benchmark. The change is made 50
 * ms before the timed plan (the watch is eventually consistent; its events
 * arrive within milliseconds).
 *
 *   node --expose-gc bench/kubernetes/plan.js [--deployments 2000] [--runs 9]
 *   (npm run bench -- kubernetes passes --expose-gc: every timed plan starts from a collected heap)
 * Needs `npm run build` (it uses packages/*\/dist).
 */
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync, fork } = require('node:child_process');
const { report, option, time } = require('../lib/stats');

const ROOT = path.resolve(__dirname, '../..');
const GOAL = 1.2;
const TOKEN = 'bench-token';

function deployments(core, n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const repo = `github.com/org${i % 40}/app${i}`;
    out.push({
      repo,
      spec: {
        Resources: { cpus: '0.25', memory: '256', ports: '1' },
        Env: { DB_URL: `https://db-${i % 17}.example.com`, LOG_LEVEL: 'info' },
        NumInstances: 2,
        Volumes: [],
        Startup: { CheckReadyURIPath: '/health', Timeout: 60 },
        Version: `1.${i % 10}.0`,
        Digest: `sha256:${String(i).padStart(64, '0')}`,
        Stack: 'node',
      },
    });
  }
  return out;
}

/** The state repository: defs.yaml with the one cluster, a manifest per deployment, committed. */
function stateRepo(dir, kind, baseURL, deps) {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'defs.yaml'), `DockerRepo: registry.example.com\nClusters:\n  k8s:\n    Name: k8s\n    Kind: ${kind}\n    BaseURL: "${baseURL}"\n    Env:\n      REGION: r1\n    Startup:\n      ConnectDelay: 5\n    AllowedAdvisories: []\n`);
  for (const d of deps) {
    const file = path.join(dir, 'manifests', `${d.repo}.yaml`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const s = d.spec;
    fs.writeFileSync(
      file,
      `Source: ${d.repo}\nOwners:\n- team@example.com\nKind: http-service\nDeployments:\n  k8s:\n    Resources:\n      cpus: "${s.Resources.cpus}"\n      memory: "${s.Resources.memory}"\n      ports: "1"\n    Env:\n      DB_URL: ${s.Env.DB_URL}\n      LOG_LEVEL: info\n    NumInstances: 2\n    Volumes: []\n    Startup:\n      CheckReadyURIPath: /health\n      Timeout: 60\n    Schedule: ""\n    Version: ${s.Version}\n    Digest: ${s.Digest}\n    Stack: node\n`,
    );
  }
  const env = { ...process.env, GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@example.com', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'bench@example.com' };
  execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: dir, env });
  execFileSync('git', ['add', '-A'], { cwd: dir, env });
  execFileSync('git', ['commit', '-q', '-m', 'bench state'], { cwd: dir, env });
}

/** The API server process: seeded with the Deployments and Services the plugin makes for these deployments. */
function serve(n) {
  const { KubeApiServer } = require(path.join(ROOT, 'test/helpers/kube-api-server.js'));
  const core = require(path.join(ROOT, 'packages/core/dist'));
  const k = require(path.join(ROOT, 'packages/plugin-scheduler-kubernetes/dist'));
  // The Deployment controller works on its own (a hand-made scale completes), as a cluster's does.
  const api = new KubeApiServer({ tokens: { [TOKEN]: 'bench' }, namespaces: ['sous'], validate: false, controllerMs: 5 });
  const cluster = { Kind: 'kubernetes', Env: { REGION: 'r1' }, Startup: { ConnectDelay: 5 } };
  for (const d of deployments(core, n)) {
    const mid = { source: { repo: d.repo, dir: '' }, flavor: '' };
    const state = { id: `k8s:${d.repo}`, manifestID: mid, cluster: 'k8s', kind: 'http-service', owners: ['team@example.com'], spec: core.expandDeploySpec(d.spec, cluster), status: 'Active' };
    const ctx = { namespace: 'sous', image: `registry.example.com/${d.repo}@${d.spec.Digest}`, basePort: 8080, serviceName: k.guessableName(mid) };
    api.put('deployments', k.desiredDeployment(state, ctx), 'sous');
  }
  // Someone scales a Deployment by hand (an Update of replicas, as kubectl scale), or puts it back.
  process.on('message', (m) => {
    api.edit('deployments', 'sous', m.name, (d) => (d.spec.replicas = m.replicas), 'kubectl-scale');
    process.send({ done: m.name });
  });
  return api.start().then(() => process.send({ url: api.url }));
}

/** Asks the API server process to set a Deployment's replicas, as another client would. */
function kubectlScale(server, name, replicas) {
  return new Promise((resolve) => {
    const on = (m) => {
      if (m.done !== name) return;
      server.off('message', on);
      resolve();
    };
    server.on('message', on);
    server.send({ name, replicas });
  });
}

async function main() {
  const args = process.argv.slice(2);
  const N = Number(option(args, 'deployments', 2000));
  const RUNS = Number(option(args, 'runs', 9));
  const core = require(path.join(ROOT, 'packages/core/dist'));
  const k = require(path.join(ROOT, 'packages/plugin-scheduler-kubernetes/dist'));
  const { kubernetesScheduler } = k;
  const server = fork(__filename, ['--serve', String(N)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const { url } = await new Promise((resolve, reject) => {
    server.once('message', resolve);
    server.once('exit', (c) => reject(new Error(`the API server process exited (${c})`)));
  });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sous-bench-k8s-'));
  try {
    const deps = deployments(core, N);
    const base = await core.loadConfig({ cwd: tmp, env: { XDG_CONFIG_HOME: path.join(tmp, 'cfg') }, repoConfig: false });
    const config = Object.freeze({ ...base, user: { name: 'bench', email: 'bench@example.com' } });

    const plugin = () => kubernetesScheduler({ namespace: 'sous', token: TOKEN, pollMs: 5 });
    async function rectifier(kind, baseURL) {
      const dir = path.join(tmp, kind);
      stateRepo(dir, kind, baseURL, deps);
      const sous = core.Sous.create(config);
      sous.use(plugin());
      const gdm = await core.Gdm.open(dir, { user: config.user });
      const r = new core.Rectifier(sous, gdm, path.join(dir, '.git', 'sous'));
      return { r, sous, gdm, dir };
    }
    const k8s = await rectifier('kubernetes', url);
    const memory = await rectifier('memory', 'memory:');
    // The memory scheduler holds what the API server holds: the deployments as Sous deployed them.
    const first = await k8s.r.plan({});
    if (first.plan.actions.length || first.plan.errors.length) throw new Error(`the seeded cluster should plan nothing: ${JSON.stringify(first.plan.actions.slice(0, 2))} ${JSON.stringify(first.plan.errors)}`);
    const sched = memory.sous.hooks.scheduler.get('memory').call({ name: 'k8s', def: { Kind: 'memory', BaseURL: 'memory:' } });
    for (const s of first.actual) sched.deployments.set(s.id, { ...JSON.parse(JSON.stringify(s)), ref: undefined });
    const check = await memory.r.plan({});
    if (check.plan.actions.length) throw new Error(`the memory cluster should plan nothing: ${check.plan.actions.length} actions`);
    /** A plan as a `sous plan` process makes it: a new Sous and scheduler (no watch, no memory), the same GDM. */
    const oneShot = () => {
      const sous = core.Sous.create(config);
      sous.use(plugin());
      return new core.Rectifier(sous, k8s.gdm, path.join(k8s.dir, '.git', 'sous')).plan({});
    };

    const base_ = { name: `plan, memory scheduler (${N} deployments)`, samples: [] };
    const kube = { name: 'plan, kubernetes, long-lived process (list, then watch)', samples: [] };
    const cold = { name: 'plan, kubernetes, one-shot process (one full list)', samples: [], goal: false };
    const ids = deps.map((d) => `k8s:${d.repo}`);
    const names = deps.map((d) => k.objectName({ source: { repo: d.repo, dir: '' }, flavor: '' }, `k8s:${d.repo}`));
    const expectScale = (what, plan, i) => {
      const got = plan.actions.map((a) => `${a.kind} ${a.deploymentID}: ${a.reason}`);
      const want = [`scale ${ids[i]}: instances 3 → 2`];
      if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`${what} planned ${JSON.stringify(got.slice(0, 3))}, not ${JSON.stringify(want)}`);
    };
    for (let i = 0; i < RUNS + 1; i++) {
      // Someone scales deployment i to 3 by hand; the one before is put back.
      await kubectlScale(server, names[i], 3);
      sched.deployments.get(ids[i]).spec.NumInstances = 3;
      if (i > 0) {
        await kubectlScale(server, names[i - 1], 2);
        sched.deployments.get(ids[i - 1]).spec.NumInstances = 2;
      }
      await new Promise((r) => setTimeout(r, 50));
      const plans = {};
      const timed = { memory: () => memory.r.plan({}), kube: () => k8s.r.plan({}), cold: () => oneShot() };
      const took = {};
      // Each starts from a collected heap, and the order turns every round, so none pays for another's garbage.
      const order = ['memory', 'kube', 'cold'];
      for (let n = 0; n < i % 3; n++) order.push(order.shift());
      for (const which of order) {
        if (global.gc) global.gc();
        took[which] = await time(async () => void (plans[which] = (await timed[which]()).plan));
      }
      const [a, b, c] = [took.memory, took.kube, took.cold];
      expectScale('the memory plan', plans.memory, i);
      expectScale('the long-lived kubernetes plan', plans.kube, i);
      expectScale('the one-shot kubernetes plan', plans.cold, i);
      if (i === 0) continue; // warm-up (the long-lived scheduler's second read: it lists and opens its watch)
      base_.samples.push(a);
      kube.samples.push(b);
      cold.samples.push(c);
    }
    const ok = report(`kubernetes plan: ${N} deployments, ${RUNS} runs each, interleaved`, base_, [kube, cold], GOAL);
    process.exitCode = ok ? 0 : 3;
  } finally {
    server.kill();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--serve') serve(Number(process.argv[3]));
else
  main().catch((e) => {
    process.stderr.write(`${e.stack ?? e}\n`);
    process.exitCode = 1;
  });
