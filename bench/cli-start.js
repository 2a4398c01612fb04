#!/usr/bin/env node
/**
 * CLI start-up: whole `sous` processes against a whole `node -e 0`, side by
 * side in one run (interleaved, so both see the same machine), many runs,
 * medians. Goal: each command at most 3x the bare node start.
 *
 *   node bench/cli-start.js [--runs 40]
 * Needs `npm run build` (it runs packages/cli/bin/run.js).
 *
 * Add a command to COMMANDS to measure it too.
 */
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { report, option, ms } = require('./lib/stats');

const ROOT = path.resolve(__dirname, '..');
const BIN = path.join(ROOT, 'packages/cli/bin/run.js');
const GOAL = 3;

function hasCommand(id) {
  try {
    return id in JSON.parse(fs.readFileSync(path.join(ROOT, 'packages/cli/oclif.manifest.json'), 'utf8')).commands;
  } catch {
    return false;
  }
}

/** The commands measured: `sous deploy --help` once deploy exists, `sous scale --help` until then. */
const COMMANDS = [
  { name: 'sous --version', args: ['--version'] },
  hasCommand('deploy') ? { name: 'sous deploy --help', args: ['deploy', '--help'] } : { name: 'sous scale --help', args: ['scale', '--help'] },
];

function main() {
  const runs = Number(option(process.argv.slice(2), 'runs', '40'));
  if (!fs.existsSync(BIN) || !fs.existsSync(path.join(ROOT, 'packages/cli/dist/commands'))) throw new Error('build first: npm run build');
  // Nothing from the user's own config or state.
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'sous-bench-'));
  const env = { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: path.join(home, 'config'), XDG_DATA_HOME: path.join(home, 'data'), NO_COLOR: '1' };
  const variants = [{ name: 'node -e 0', args: ['-e', '0'] }, ...COMMANDS.map((c) => ({ name: c.name, args: [BIN, ...c.args] }))];
  const samples = variants.map(() => []);
  const once = (v) => {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, v.args, { env, cwd: home, stdio: ['ignore', 'pipe', 'pipe'] });
    const t = ms(process.hrtime.bigint() - t0);
    if (r.status !== 0) throw new Error(`${v.name} exited ${r.status}: ${r.stderr}`);
    return t;
  };
  for (let i = 0; i < 3; i++) variants.forEach(once); // warm the file cache
  for (let i = 0; i < runs; i++) variants.forEach((v, j) => samples[j].push(once(v)));
  fs.rmSync(home, { recursive: true, force: true });
  const ok = report('cli-start', { name: variants[0].name, samples: samples[0] }, variants.slice(1).map((v, j) => ({ name: v.name, samples: samples[j + 1] })), GOAL);
  return ok;
}

if (require.main === module) {
  const ok = main();
  process.exitCode = ok ? 0 : 3;
}
