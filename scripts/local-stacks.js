/**
 * The operator config that points the stacks at the local base images
 * (scripts/local-stacks.yaml), for tests, the quickstart and the benchmarks:
 *
 *   const { writeLocalStacksConfig } = require('./scripts/local-stacks');
 *   writeLocalStacksConfig(xdgConfigHome);   // → <xdg>/sous/config.yaml
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const FILE = path.join(__dirname, 'local-stacks.yaml');

/** Writes the local stacks config as `<configHome>/sous/config.yaml`, with `extra` YAML lines appended. */
function writeLocalStacksConfig(configHome, extra = '') {
  const dir = path.join(configHome, 'sous');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'config.yaml');
  fs.writeFileSync(file, `${fs.readFileSync(FILE, 'utf8')}${extra ? `${extra.trimEnd()}\n` : ''}`);
  return file;
}

module.exports = { LOCAL_STACKS_FILE: FILE, writeLocalStacksConfig };
