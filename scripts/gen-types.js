#!/usr/bin/env node
// Generates TypeScript types from schemas/*.schema.json into packages/core/src/generated/.
// The schemas are the source of truth; packages/core/src/schema/generated.test.ts fails when the files drift.
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const schemasDir = path.join(root, 'schemas');
const outDir = path.join(root, 'packages/core/src/generated');
const BANNER = '/* eslint-disable */\n// Generated from schemas/ by scripts/gen-types.js. Do not edit by hand: edit the schema and run `npm run gen:types`.\n\n';

async function generate() {
  const { compile } = require('json-schema-to-typescript');
  const out = {};
  const files = fs.readdirSync(schemasDir).filter((f) => f.endsWith('.schema.json')).sort();
  for (const f of files) {
    const schema = JSON.parse(fs.readFileSync(path.join(schemasDir, f), 'utf8'));
    const ts = await compile(schema, schema.title, {
      cwd: schemasDir,
      bannerComment: '',
      additionalProperties: false,
      declareExternallyReferenced: true,
      format: true,
      style: { singleQuote: true, printWidth: 120 },
      unreachableDefinitions: true,
    });
    out[f.replace('.schema.json', '.ts')] = BANNER + ts;
  }
  return out;
}

module.exports = { generate, outDir };

if (require.main === module) {
  generate().then((files) => {
    fs.mkdirSync(outDir, { recursive: true });
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(outDir, name), text);
    console.log(`wrote ${Object.keys(files).length} files to ${path.relative(root, outDir)}`);
  }, (e) => { console.error(e); process.exit(1); });
}
