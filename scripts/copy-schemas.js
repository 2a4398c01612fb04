#!/usr/bin/env node
// Copies schemas/ and templates/ into packages/core so that the built package carries them,
// and compiles each schema's validators ahead of time (see validatorFor in packages/core/src/schema).
const fs = require('node:fs');
const path = require('node:path');
const root = path.resolve(__dirname, '..');
for (const dir of ['schemas', 'templates']) {
  const dest = path.join(root, 'packages/core', dir);
  fs.rmSync(dest, { recursive: true, force: true });
  fs.cpSync(path.join(root, dir), dest, { recursive: true });
}
require('./compile-validators').compileValidators(path.join(root, 'packages/core/schemas'));
