#!/usr/bin/env node
// Writes packages/cli/oclif.manifest.json, so that `sous --help` and
// `sous <cmd> --help` need not load every command's code.
const fs = require('node:fs');
const path = require('node:path');
const { Plugin } = require('@oclif/core');

(async () => {
  const root = path.resolve(__dirname, '../packages/cli');
  const plugin = new Plugin({ root, type: 'core', ignoreManifest: true, errorOnManifestCreate: true, respectNoCacheDefault: true });
  await plugin.load();
  fs.writeFileSync(path.join(root, 'oclif.manifest.json'), JSON.stringify(plugin.manifest, null, 2) + '\n');
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
