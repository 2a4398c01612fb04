#!/usr/bin/env node
/**
 * Loading the GDM: a state repository of 5,000 manifests x 3 clusters
 * (generated in a temp dir and committed in git), read and expanded by the
 * real core (Gdm.read + intendedDeployments), against plainly reading and
 * parsing the same YAML files with the same YAML library (`yaml`), in the
 * same process, interleaved. Goal: at most 2x.
 *
 * Sous keeps parsed manifests by blob id, so a second read in one process is
 * nearly free; each measured Sous read uses a freshly loaded core (a cold
 * cache), as a new `sous` process would. The warm read is shown for reference.
 *
 *   node bench/gdm-load.js [--manifests 5000] [--runs 7] [--state DIR]
 * Needs `npm run build` (it uses packages/core/dist).
 */
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { report, option, time } = require('./lib/stats');

const ROOT = path.resolve(__dirname, '..');
const CORE = path.join(ROOT, 'packages/core/dist');
const CLUSTERS = ['cluster-1', 'cluster-2', 'cluster-3'];
const GOAL = 2;

function defsYaml() {
  const c = CLUSTERS.map((n, i) => `  ${n}:\n    Name: ${n}\n    Kind: singularity\n    BaseURL: http://singularity-${i}.example.com\n    Env:\n      REGION: r${i}\n    Startup:\n      Timeout: 30\n    AllowedAdvisories: []\n`).join('');
  return `DockerRepo: docker.example.com\nClusters:\n${c}EnvVars: []\nResources: []\nMetadata: []\n`;
}

function manifestYaml(org, app, i) {
  const deps = CLUSTERS.map(
    (c, j) => `  ${c}:
    Resources:
      cpus: "0.${(i % 9) + 1}"
      memory: "${256 * ((i % 4) + 1)}"
      ports: "1"
    Metadata:
      team: team-${i % 40}
    Env:
      DB_URL: https://db-${i % 17}.example.com
      LOG_LEVEL: info
    NumInstances: ${(i + j) % 5}
    Volumes: []
    Startup:
      CheckReadyProtocol: HTTPS
      CheckReadyURIPath: /health
      CheckReadyFailureStatuses:
      - 500
      - 503
    Schedule: ""
    Version: 1.${i % 10}.${j}-rc.1+deadbeef
    SingularityRequestID: "${org}-${app}-${c}"
`,
  );
  return `Source: github.com/${org}/${app}\nOwners:\n- owner-${i % 50}@example.com\nKind: http-service\nDeployments:\n${deps.join('')}`;
}

/** Writes and commits the state repository; returns the list of manifest files. */
function generate(dir, n) {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'defs.yaml'), defsYaml());
  for (let i = 0; i < n; i++) {
    const org = `org${i % 100}`;
    const app = `app${i}`;
    const d = path.join(dir, 'manifests', 'github.com', org);
    fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(d, `${app}.yaml`), manifestYaml(org, app, i));
  }
  const env = { ...process.env, GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@example.com', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'bench@example.com' };
  execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: dir, env });
  execFileSync('git', ['add', '-A'], { cwd: dir, env });
  execFileSync('git', ['commit', '-q', '-m', 'bench state'], { cwd: dir, env });
}

function walk(dir, out = []) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.name.endsWith('.yaml')) out.push(p);
  }
  return out;
}

/** A freshly loaded @sous/core: its caches start empty, as in a new process. */
function freshCore() {
  for (const k of Object.keys(require.cache)) if (k.startsWith(CORE + path.sep)) delete require.cache[k];
  return require(CORE);
}

async function main() {
  const args = process.argv.slice(2);
  const n = Number(option(args, 'manifests', '5000'));
  const runs = Number(option(args, 'runs', '7'));
  if (!fs.existsSync(path.join(CORE, 'index.js'))) throw new Error('build first: npm run build');
  const given = option(args, 'state', undefined);
  const dir = given ?? fs.mkdtempSync(path.join(os.tmpdir(), 'sous-bench-gdm-'));
  if (!fs.existsSync(path.join(dir, '.git'))) {
    const t = await time(() => generate(dir, n));
    process.stdout.write(`generated ${n} manifests x ${CLUSTERS.length} clusters in ${(t / 1000).toFixed(1)} s (${dir})\n`);
  }
  const YAML = require('yaml');
  let deployments = 0;
  const plain = async () => {
    const files = [path.join(dir, 'defs.yaml'), ...walk(path.join(dir, 'manifests'))];
    let count = 0;
    for (const f of files) {
      const v = YAML.parse(fs.readFileSync(f, 'utf8'));
      count += Object.keys(v.Deployments ?? v.Clusters ?? {}).length;
    }
    if (count < n * CLUSTERS.length) throw new Error(`plain read found ${count}`);
  };
  const sousCold = async (core) => {
    const gdm = await core.Gdm.open(dir, { remote: false });
    return async () => {
      const state = await gdm.read();
      deployments = core.intendedDeployments(state).length;
      if (state.flaws.length) throw new Error(`flaws: ${state.flaws[0].message}`);
    };
  };
  const samples = { plain: [], cold: [], warm: [] };
  // Warm-up: the file cache, the JIT, and the YAML library.
  await plain();
  await (await sousCold(freshCore()))();
  for (let r = 0; r < runs; r++) {
    samples.plain.push(await time(plain));
    const core = freshCore();
    const read = await sousCold(core);
    samples.cold.push(await time(read));
    samples.warm.push(await time(read));
  }
  if (deployments !== n * CLUSTERS.length) throw new Error(`expected ${n * CLUSTERS.length} deployments, got ${deployments}`);
  if (!given) fs.rmSync(dir, { recursive: true, force: true });
  return report(
    `gdm-load (${n} manifests x ${CLUSTERS.length})`,
    { name: 'fs + yaml.parse', samples: samples.plain },
    [
      { name: 'Gdm.read + intendedDeployments', samples: samples.cold },
      { name: '  same, parse cache warm (info)', samples: samples.warm, goal: false },
    ],
    GOAL,
  );
}

if (require.main === module) {
  main().then(
    (ok) => (process.exitCode = ok ? 0 : 3),
    (e) => {
      console.error(e);
      process.exitCode = 1;
    },
  );
}
