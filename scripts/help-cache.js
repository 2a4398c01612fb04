#!/usr/bin/env node
// Renders oclif's own help text for every command and topic into
// packages/cli/dist/help.json at build time, so that `sous <command> --help`
// can print it without loading oclif (see packages/cli/bin/run.js).
const fs = require('node:fs');
const path = require('node:path');

(async () => {
  const root = path.resolve(__dirname, '../packages/cli');
  const { Config, Help } = require(require.resolve('@oclif/core', { paths: [root] }));
  const config = await Config.load(root);
  const out = {};
  let buf = [];
  class Capture extends Help {
    log(...args) {
      buf.push(args.join(' '));
    }
  }
  const help = new Capture(config, { stripAnsi: true });
  const render = async (id, argv) => {
    buf = [];
    try {
      await help.showHelp(argv);
      out[id] = buf.join('\n') + '\n';
    } catch {
      // Not every topic has help of its own; those fall back to oclif at run time.
    }
  };
  // Not the root help: it shows the node version and platform, which belong to run time.
  for (const t of config.topics) await render(t.name, [t.name]);
  for (const c of config.commands) if (!c.hidden) await render(c.id, [c.id]);
  fs.writeFileSync(path.join(root, 'dist', 'help.json'), JSON.stringify({ version: config.version, help: out }));
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
