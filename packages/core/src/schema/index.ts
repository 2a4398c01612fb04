import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { usageError, SousError } from '../errors';
import { closest } from '../util/text';

/** The schema files under schemas/ (the source of truth for every file format and payload). */
export type SchemaName = 'manifest' | 'defs' | 'sous-config' | 'artifact' | string;

let schemaDirCache: string | undefined;

/** Finds schemas/: copied into the package at build time, or the repository's own in a checkout. */
export function schemaDir(): string {
  if (schemaDirCache) return schemaDirCache;
  const candidates = [path.resolve(__dirname, '../../schemas'), path.resolve(__dirname, '../../../../schemas')];
  const found = candidates.find((d) => fs.existsSync(path.join(d, 'manifest.schema.json')));
  if (!found) throw new SousError('SCHEMAS_MISSING', `cannot find the schemas directory (looked in ${candidates.join(', ')})`);
  schemaDirCache = found;
  return found;
}

/** How every schema is compiled, here and ahead of time by scripts/compile-validators.js (which must use the same). */
export const AJV_OPTIONS = Object.freeze({ allErrors: true, coerceTypes: true, verbose: true, strict: false });

type AjvInstance = import('ajv').default;
let ajvInstance: AjvInstance | undefined;
const compiled = new Map<string, ValidateFunction>();

function ajv(): AjvInstance {
  if (ajvInstance) return ajvInstance;
  // Loaded lazily: most CLI invocations never validate anything.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Ajv = require('ajv').default as typeof import('ajv').default;
  const a = new Ajv({ ...AJV_OPTIONS });
  for (const f of fs.readdirSync(schemaDir())) {
    if (!f.endsWith('.schema.json')) continue;
    const schema = JSON.parse(fs.readFileSync(path.join(schemaDir(), f), 'utf8')) as { $id?: string };
    a.addSchema(schema, schema.$id ?? f);
  }
  ajvInstance = a;
  return a;
}

const precompiledModules = new Map<string, Record<string, ValidateFunction> | null>();

/**
 * The validator the build compiled ahead of time (scripts/compile-validators.js,
 * with the options above), when it was made from the schema as it is now:
 * loading it costs a few milliseconds where compiling costs tens.
 */
function precompiled(name: SchemaName, pointer: string): ValidateFunction | undefined {
  let mod = precompiledModules.get(name);
  if (mod === undefined) {
    mod = null;
    try {
      const file = path.join(schemaDir(), 'validators', `${name}.js`);
      if (fs.existsSync(file)) {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const m = require(file) as Record<string, ValidateFunction> & { schemaHash?: unknown };
        const text = fs.readFileSync(path.join(schemaDir(), `${name}.schema.json`));
        if (m.schemaHash === crypto.createHash('sha256').update(text).digest('hex')) mod = m;
      }
    } catch {
      mod = null;
    }
    precompiledModules.set(name, mod);
  }
  const v = mod?.[`#${pointer}`];
  return typeof v === 'function' ? v : undefined;
}

export function validatorFor(name: SchemaName, pointer = ''): ValidateFunction {
  const key = `${name}#${pointer}`;
  let v = compiled.get(key) ?? precompiled(name, pointer);
  if (v) compiled.set(key, v);
  else {
    const id = `https://sous.dev/schemas/${name}.schema.json${pointer ? '#' + pointer : ''}`;
    const found = ajv().getSchema(id);
    if (!found) throw new SousError('SCHEMA_UNKNOWN', `no schema ${key}`);
    v = found;
    compiled.set(key, v);
  }
  return v;
}

export interface ValidationProblem {
  field: string;
  message: string;
  hint?: string;
  keyword: string;
}

function fieldOf(e: ErrorObject): string {
  const parts = e.instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (e.keyword === 'additionalProperties') parts.push(String((e.params as { additionalProperty: string }).additionalProperty));
  if (e.keyword === 'required') parts.push(String((e.params as { missingProperty: string }).missingProperty));
  return parts.join('.');
}

export function describeErrors(errors: ErrorObject[]): ValidationProblem[] {
  const out: ValidationProblem[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    const field = fieldOf(e);
    let message = `${field || '(document)'} ${e.message ?? 'is invalid'}`;
    let hint: string | undefined;
    if (e.keyword === 'additionalProperties') {
      const key = String((e.params as { additionalProperty: string }).additionalProperty);
      const known = Object.keys(((e.parentSchema as { properties?: object } | undefined)?.properties ?? {}) as object);
      message = `unknown key ${JSON.stringify(key)}${e.instancePath ? ` in ${fieldOf({ ...e, keyword: 'x' } as ErrorObject)}` : ''}`;
      const near = closest(key, known);
      hint = near ? `did you mean ${JSON.stringify(near)}?` : known.length ? `known keys: ${known.join(', ')}` : undefined;
    } else if (e.keyword === 'enum') {
      const allowed = (e.params as { allowedValues: unknown[] }).allowedValues.filter((v) => v !== '');
      const near = typeof e.data === 'string' ? closest(e.data, allowed.map(String)) : undefined;
      message = `${field} is ${JSON.stringify(e.data)}, which is not one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`;
      hint = near ? `did you mean ${JSON.stringify(near)}?` : undefined;
    } else if (e.keyword === 'required') {
      message = `${field} is required but missing`;
    } else if (e.keyword === 'minimum') {
      message = `${field} is ${JSON.stringify(e.data)}; it must not be negative`;
    } else if (e.keyword === 'type') {
      message = `${field || 'the document'} is ${JSON.stringify(e.data)}; it ${e.message}`;
    }
    const key = `${field}|${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ field, message, hint, keyword: e.keyword });
  }
  return out;
}

/**
 * Validates (and coerces scalars of) `data` against a schema. Throws a usage
 * error with `code` naming the file and the first bad field; every problem is in details.
 */
export function validateOrThrow<T>(name: SchemaName, data: unknown, code: string, opts: { file?: string; pointer?: string; what?: string } = {}): T {
  const v = validatorFor(name, opts.pointer);
  if (v(data)) return data as T;
  const problems = describeErrors(v.errors ?? []);
  const first = problems[0];
  const unknownKey = problems.find((p) => p.keyword === 'additionalProperties');
  const where = opts.file ? `${opts.file}: ` : '';
  const hints = problems.flatMap((p) => (p.hint ? [p.hint] : []));
  // Every error carries a way forward: at least where the allowed fields are described.
  if (hints.length === 0) hints.push(`See schemas/${name}.schema.json for the fields ${opts.what ?? `a ${name} file`} may have and their types`);
  throw usageError(unknownKey && unknownKey === first ? code.replace(/_INVALID$/, '') + '_UNKNOWN_KEY' : code, `${where}${opts.what ? opts.what + ': ' : ''}${first?.message ?? 'invalid'}`, {
    file: opts.file,
    field: first?.field,
    hints: hints.concat(problems.length > 1 ? [`${problems.length - 1} more problem(s): ${problems.slice(1).map((p) => p.message).join('; ')}`] : []),
    details: { problems },
  });
}
