#!/usr/bin/env node
// Two answers need none of oclif, whose loading costs several times a bare
// node start: `sous --version` (from package.json, in oclif's format) and
// `sous <command> --help` (oclif's own help text, rendered at build time into
// dist/help.json by scripts/help-cache.js). Everything else goes to oclif.
const argv = process.argv.slice(2);

function cachedHelp() {
  if (argv.length < 2 || argv[argv.length - 1] !== '--help') return undefined;
  const words = argv.slice(0, -1);
  if (!words.every((w) => /^[a-z][a-z0-9-]*$/.test(w))) return undefined;
  try {
    const cache = require('../dist/help.json');
    if (cache.version !== require('../package.json').version) return undefined;
    return cache.help[words.join(':')];
  } catch {
    return undefined;
  }
}

const help = cachedHelp();
if (argv.length === 1 && argv[0] === '--version') {
  const pkg = require('../package.json');
  process.stdout.write(`${pkg.name}/${pkg.version} ${process.platform}-${process.arch} node-${process.version}\n`);
} else if (help !== undefined) {
  process.stdout.write(help);
} else {
  // Sous's own warnings (process.emitWarning with a SOUS_ code) read like its other messages.
  process.on('warning', (w) => {
    if (/^SOUS_/.test(w.code || '')) process.stderr.write(`Warning: ${w.message} [${w.code}]\n`);
    else process.stderr.write(`${w.name}: ${w.message}\n`);
  });
  require('@oclif/core/execute')
    .execute({ dir: __dirname })
    .catch((e) => {
      process.stderr.write(`sous: ${e && e.message ? e.message : e}\n`);
      process.exitCode = 1;
    });
}
