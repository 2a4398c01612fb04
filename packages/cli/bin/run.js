#!/usr/bin/env node
require('@oclif/core')
  .execute({ dir: __dirname })
  .catch((e) => {
    process.stderr.write(`sous: ${e && e.message ? e.message : e}\n`);
    process.exitCode = 1;
  });
