#!/usr/bin/env node
// `sous --version` is asked for often (scripts, bug reports) and needs none of
// oclif: answer it from package.json, in oclif's own format, without loading it.
const argv = process.argv.slice(2);
if (argv.length === 1 && argv[0] === '--version') {
  const pkg = require('../package.json');
  process.stdout.write(`${pkg.name}/${pkg.version} ${process.platform}-${process.arch} node-${process.version}\n`);
} else {
  require('@oclif/core')
    .execute({ dir: __dirname })
    .catch((e) => {
      process.stderr.write(`sous: ${e && e.message ? e.message : e}\n`);
      process.exitCode = 1;
    });
}
