import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Ajv from 'ajv';
import { AJV_OPTIONS as RUNTIME_OPTIONS } from './index';

const ROOT = path.resolve(__dirname, '../../../..');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { AJV_OPTIONS, compileValidators } = require(path.join(ROOT, 'scripts/compile-validators.js')) as {
  AJV_OPTIONS: Record<string, unknown>;
  compileValidators: (dir: string) => void;
};

/** Documents each wrong in several ways (unknown keys, wrong types, bad formats), and one valid. */
const SAMPLES: [schema: string, pointer: string, doc: unknown][] = [
  ['sous-config', '', { registry: 5, bogus: 1, stacks: { node: 3 }, build: { caCerts: 'x' } }],
  ['sous-config', '', { registry: '127.0.0.1:5000' }],
  ['defs', '', { Clusters: { a: { Kind: 3, Foo: 1 } }, DockerRepo: ['x'] }],
  ['artifact', '', { Source: 1, Version: '1.0.0', Deployable: 'yes' }],
  ['events', '/definitions/BuildStartedEvent', { type: 'build.started', id: '', time: 'yesterday', links: [] }],
  ['events', '/definitions/ArtifactReadyEvent', []],
  ['manifest', '', { Source: 'github.com/a/b', Kind: 'nonsense', Deployments: { x: { NumInstances: '2' } } }],
];

const errorsOf = (v: { errors?: unknown[] | null }) => JSON.stringify((v.errors ?? []).map((e) => ({ ...(e as object), schema: JSON.stringify((e as { schema?: unknown }).schema), parentSchema: JSON.stringify((e as { parentSchema?: unknown }).parentSchema) })));

/**
 * The validators the build writes ahead of time must judge (and coerce)
 * every document exactly as ajv compiling the schema at run time does.
 */
describe('precompiled validators', () => {
  it('are compiled with the options of the run-time compile', () => {
    expect(AJV_OPTIONS).toEqual(RUNTIME_OPTIONS);
  });

  it('give the verdict, errors and coercions of a run-time compile, and name the schema they were made from', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sous-validators-'));
    try {
      for (const f of fs.readdirSync(path.join(ROOT, 'schemas'))) fs.copyFileSync(path.join(ROOT, 'schemas', f), path.join(dir, f));
      // The validators need ajv's small run-time helpers, as they find them next to packages/core/schemas.
      fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
      compileValidators(dir);
      const ajv = new Ajv(AJV_OPTIONS);
      for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.schema.json'))) {
        const schema = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as { $id: string };
        ajv.addSchema(schema, schema.$id);
      }
      for (const [name, pointer, doc] of SAMPLES) {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const mod = require(path.join(dir, 'validators', `${name}.js`)) as Record<string, ((d: unknown) => boolean) & { errors?: unknown[] | null }> & { schemaHash: string };
        const pre = mod[`#${pointer}`];
        const live = ajv.getSchema(`https://sous.dev/schemas/${name}.schema.json${pointer ? `#${pointer}` : ''}`)!;
        const a = structuredClone(doc);
        const b = structuredClone(doc);
        expect([name, pointer, pre(a)]).toEqual([name, pointer, live(b)]);
        expect(errorsOf(pre)).toEqual(errorsOf(live));
        expect(a).toEqual(b);
        expect(mod.schemaHash).toMatch(/^[0-9a-f]{64}$/);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
