#!/usr/bin/env node
/**
 * Runs the benchmarks: every script under bench/ (bench/NAME.js and
 * bench/GROUP/NAME.js; not bench/lib/ or this file), each in its own process,
 * each printing its own side-by-side table.
 *
 *   npm run bench                 all of them
 *   npm run bench -- cli-start    one (or a group: npm run bench -- rectify)
 *   npm run bench -- gdm-load --manifests 1000    options go to the benchmark
 *
 * Exits non-zero when a benchmark fails or misses its goal.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const DIR = __dirname;

function discover() {
  const out = [];
  for (const e of fs.readdirSync(DIR, { withFileTypes: true })) {
    if (e.isFile() && e.name.endsWith('.js') && e.name !== 'run.js') out.push(e.name.slice(0, -3));
    if (e.isDirectory() && !['lib', 'results', 'node_modules'].includes(e.name)) {
      for (const f of fs.readdirSync(path.join(DIR, e.name))) if (f.endsWith('.js')) out.push(`${e.name}/${f.slice(0, -3)}`);
    }
  }
  return out.sort();
}

function main() {
  const args = process.argv.slice(2);
  const all = discover();
  const named = args[0] && !args[0].startsWith('-') ? args[0] : undefined;
  const rest = named ? args.slice(1) : args;
  const chosen = named ? all.filter((b) => b === named || b.startsWith(`${named}/`)) : all;
  if (named && chosen.length === 0) {
    process.stderr.write(`no benchmark ${JSON.stringify(named)}; there are: ${all.join(', ')}\n`);
    return 2;
  }
  let status = 0;
  for (const b of chosen) {
    process.stdout.write(`\n== ${b}\n`);
    const r = spawnSync(process.execPath, ['--expose-gc', path.join(DIR, `${b}.js`), ...rest], { stdio: 'inherit' });
    if (r.status !== 0) {
      process.stdout.write(`${b}: ${r.status === 3 ? 'missed its goal' : `failed (exit ${r.status ?? r.signal})`}\n`);
      if (status === 0) status = r.status ?? 1;
    }
  }
  return status;
}

process.exitCode = main();
