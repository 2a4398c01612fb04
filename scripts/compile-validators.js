// Compiling a schema with ajv costs every process tens of milliseconds (the events schema about
// a hundred): this writes the validators as code once, at build time, next to the schemas, as
// validators/<name>.js with one entry for the schema and one per definition. The schema module
// (packages/core/src/schema) uses an entry only when its schema's sha256 is the one it was made
// from, and compiles at run time otherwise. The ajv options must stay those of that module.
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const AJV_OPTIONS = { allErrors: true, coerceTypes: true, verbose: true, strict: false };

function compileValidators(schemaDir) {
  const Ajv = require('ajv').default;
  const standalone = require('ajv/dist/standalone').default;
  const files = fs.readdirSync(schemaDir).filter((f) => f.endsWith('.schema.json'));
  const ajv = new Ajv({ ...AJV_OPTIONS, code: { source: true } });
  const schemas = files.map((f) => {
    const text = fs.readFileSync(path.join(schemaDir, f), 'utf8');
    const schema = JSON.parse(text);
    ajv.addSchema(schema, schema.$id ?? f);
    return { name: f.slice(0, -'.schema.json'.length), id: schema.$id ?? f, schema, hash: crypto.createHash('sha256').update(text).digest('hex') };
  });
  const out = path.join(schemaDir, 'validators');
  fs.mkdirSync(out, { recursive: true });
  for (const s of schemas) {
    const entries = { '#': s.id };
    for (const d of Object.keys(s.schema.definitions ?? {})) entries[`#/definitions/${d}`] = `${s.id}#/definitions/${d}`;
    const code = standalone(ajv, entries);
    fs.writeFileSync(path.join(out, `${s.name}.js`), `${code}\nexports.schemaHash = ${JSON.stringify(s.hash)};\n`);
  }
}

module.exports = { AJV_OPTIONS, compileValidators };
