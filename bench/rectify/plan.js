#!/usr/bin/env node
/**
 * Planning 10,000 deployments over 10 clusters (the rectifier's diff and
 * plan, from the sets an in-memory scheduler reports) against a plain
 * deep-equality comparison of the same two sets, side by side in one run.
 * Each variant runs in its own process so its peak memory can be read.
 *
 *   node bench/rectify/plan.js [--deployments 10000] [--clusters 10] [--runs 15]
 * Needs `npm run build` (it uses packages/core/dist).
 */
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const { option } = require('../lib/stats');

const args = process.argv.slice(2);
const N = Number(option(args, 'deployments', 10000));
const C = Number(option(args, 'clusters', 10));
const RUNS = Number(option(args, 'runs', 15));

function child(variant) {
  const core = require(path.resolve(__dirname, '../../packages/core/dist'));
  const { isDeepStrictEqual } = require('node:util');
  const digest = (i) => 'sha256:' + String(i).padStart(64, '0');
  const intended = [];
  const clusters = Array.from({ length: C }, (_, i) => `cluster-${i}`);
  for (let i = 0; i < N; i++) {
    const cluster = clusters[i % C];
    const repo = `github.com/acme/app-${Math.floor(i / C)}`;
    intended.push({
      id: `${cluster}:${repo}`,
      manifestID: { source: { repo, dir: '' }, flavor: '' },
      cluster,
      kind: 'http-service',
      owners: ['team@example.com'],
      status: 'Active',
      spec: core.expandDeploySpec(
        { Resources: { cpus: '0.1', memory: '100', ports: '1' }, Env: { APP: String(i) }, NumInstances: 2, Volumes: [], Version: '1.0.0', Digest: digest(i) },
        { Kind: 'memory', Env: { REGION: cluster }, Startup: { Timeout: 30 } },
      ),
    });
  }
  // What the in-memory scheduler reports: the same deployments, 2% of them at another version.
  const mem = new Map(clusters.map((c) => [c, new core.MemoryScheduler(c)]));
  intended.forEach((d, i) => {
    const copy = JSON.parse(JSON.stringify(d));
    if (i % 50 === 0) copy.spec.Version = '0.9.0';
    mem.get(d.cluster).deployments.set(d.id, copy);
  });
  return (async () => {
    const actual = (await Promise.all([...mem.values()].map((s) => s.actual()))).flat();
    global.gc && global.gc();
    const rss0 = process.resourceUsage().maxRSS;
    const heap0 = process.memoryUsage().heapUsed;
    let peakHeap = heap0;
    const times = [];
    let changes = 0;
    for (let r = 0; r < RUNS; r++) {
      const t = process.hrtime.bigint();
      if (variant === 'sous') {
        const plan = core.planActions(intended, actual, { clustersRead: new Set(clusters), prune: () => false, revision: 'bench' });
        changes = plan.actions.length;
      } else {
        const byId = new Map(actual.map((d) => [d.id, d]));
        changes = 0;
        for (const d of intended) if (!isDeepStrictEqual(d.spec, byId.get(d.id)?.spec)) changes++;
      }
      times.push(Number(process.hrtime.bigint() - t) / 1e6);
      peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
    }
    times.sort((a, b) => a - b);
    process.stdout.write(JSON.stringify({ variant, median: times[Math.floor(times.length / 2)], changes, peakHeapMB: (peakHeap - heap0) / 1048576, maxRSSDeltaMB: (process.resourceUsage().maxRSS - rss0) / 1024 }));
  })();
}

if (process.env.SOUS_BENCH_CHILD) {
  child(process.env.SOUS_BENCH_CHILD);
} else {
  const run = (variant) =>
    JSON.parse(execFileSync(process.execPath, ['--expose-gc', __filename, ...args], { env: { ...process.env, SOUS_BENCH_CHILD: variant }, encoding: 'utf8', maxBuffer: 1 << 20 }));
  const base = run('deep-equal');
  const sous = run('sous');
  const ratio = sous.median / base.median;
  console.log(`rectify plan: ${N} deployments over ${C} clusters, ${RUNS} runs each (medians)`);
  console.log(`  deep-equality baseline  ${base.median.toFixed(1)} ms  ${base.changes} differ   peak heap +${base.peakHeapMB.toFixed(1)} MB`);
  console.log(`  sous plan               ${sous.median.toFixed(1)} ms  ${sous.changes} actions  peak heap +${sous.peakHeapMB.toFixed(1)} MB`);
  console.log(`  ratio ${ratio.toFixed(2)}x (goal ≤ 3x) ${ratio <= 3 ? 'ok' : 'MISSED'}`);
  process.exitCode = ratio <= 3 ? 0 : 1;
}
