#!/usr/bin/env node
/**
 * A rectify pass over 200 deployments with 5 secrets each from the file
 * provider, against the same pass over the same deployments without secrets
 * (5 plain Env values instead), side by side in one run. The GDM is a real
 * git state; the cluster is core's in-memory scheduler, so the pass is all
 * Sous: read the GDM, resolve and hash the secrets, plan. Every deployment
 * was deployed by a first pass, so a measured pass finds nothing to do
 * (what the resync loop does almost all the time).
 *
 *   node bench/secrets/rectify.js [--deployments 200] [--secrets 5] [--runs 15]
 * Needs `npm run build` (it uses the packages' dist folders).
 */
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { option, report } = require('../lib/stats');

const args = process.argv.slice(2);
const N = Number(option(args, 'deployments', 200));
const S = Number(option(args, 'secrets', 5));
const RUNS = Number(option(args, 'runs', 15));
const GOAL = 1.2;
const ROOT = path.resolve(__dirname, '../..');
const core = require(path.join(ROOT, 'packages/core/dist'));
const { secrets } = require(path.join(ROOT, 'packages/plugin-secrets/dist'));
const user = { name: 'Bench', email: 'bench@example.com' };

async function world(withSecrets) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `sous-bench-secrets-${withSecrets ? 's' : 'e'}-`));
  const secretsDir = path.join(dir, 'secrets');
  const gdm = await core.Gdm.open(path.join(dir, 'state'), { user });
  await gdm.update((s) => ({ change: { message: 'cluster', defs: { ...s.defs, Clusters: { mem: { Name: 'mem', Kind: 'memory', BaseURL: '', Env: {}, AllowedAdvisories: [] } } } }, result: undefined }), user);
  const manifests = [];
  for (let i = 0; i < N; i++) {
    const env = {};
    const refs = {};
    for (let j = 0; j < S; j++) {
      if (withSecrets) {
        fs.mkdirSync(path.join(secretsDir, `app-${i}`), { recursive: true });
        fs.writeFileSync(path.join(secretsDir, `app-${i}`, `key-${j}`), `value-${i}-${j}-${'x'.repeat(24)}\n`);
        refs[`SECRET_${j}`] = `file:app-${i}/key-${j}`;
      } else env[`SECRET_${j}`] = `value-${i}-${j}-${'x'.repeat(24)}`;
    }
    const spec = { Resources: { cpus: '0.1', memory: '100', ports: '1' }, Env: env, NumInstances: 1, Volumes: [], Version: '1.0.0', Digest: 'sha256:' + String(i).padStart(64, '0') };
    if (withSecrets) spec.Secrets = refs;
    manifests.push({ Source: `github.com/acme/app-${i}`, Owners: [], Kind: 'http-service', Deployments: { mem: spec } });
  }
  await gdm.update(() => ({ change: { message: 'apps', setManifests: manifests }, result: undefined }), user);
  const base = await core.loadConfig({ cwd: dir, env: { XDG_CONFIG_HOME: path.join(dir, 'cfg'), SOUS_STATE_LOCATION: path.join(dir, 'state') }, repoConfig: false });
  const config = Object.freeze({ ...base, secrets: { file: { dir: secretsDir } } });
  const sous = core.Sous.create(config).use(secrets());
  const rectifier = new core.Rectifier(sous, gdm, path.join(dir, 'status'));
  const first = await rectifier.run({ filters: {} });
  if (first.outcomes.length !== N || first.outcomes.some((o) => o.status !== 'Active')) throw new Error(`the first pass did not deploy all ${N}`);
  return { dir, rectifier };
}

async function passes(w) {
  const samples = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = process.hrtime.bigint();
    const res = await w.rectifier.run({ filters: {} });
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (res.outcomes.length) throw new Error(`a pass found ${res.outcomes.length} change(s): ${res.outcomes[0].action.reason}`);
  }
  return samples;
}

(async () => {
  const plain = await world(false);
  const withSecrets = await world(true);
  // Interleaved, so both see the same machine.
  const a = [];
  const b = [];
  for (let k = 0; k < 3; k++) {
    a.push(...(await passes(plain)));
    b.push(...(await passes(withSecrets)));
  }
  const ok = report(`rectify pass, ${N} deployments (${S} values each)`, { name: 'plain Env', samples: a }, [{ name: `${S} secrets each, file provider`, samples: b }], GOAL);
  for (const w of [plain, withSecrets]) fs.rmSync(w.dir, { recursive: true, force: true });
  process.exitCode = ok ? 0 : 1;
})().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
