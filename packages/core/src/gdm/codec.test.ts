import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseYaml, renderYaml, renderYamlUpdate } from './codec';
import type { SousError } from '../errors';

const FIXTURES = path.resolve(__dirname, '../../../../test/fixtures/original-state');
const FILES = ['defs.yaml', 'manifests/github.com/opentable/sous.yaml', 'manifests/github.com/user/project.yaml'];

describe('YAML as go-yaml v2 wrote it', () => {
  it('writes sequences flush with their key and quotes only what YAML 1.1 would misread', () => {
    const text = renderYaml({ Owners: ['a', 'b'], Env: { DEBUG: 'YES', ON: 'on', N: 'n', CPU: '0.1', MEM: '2048', URL: 'https://x', EMPTY: '' }, List: [] });
    expect(text).toBe(['Owners:', '- a', '- b', 'Env:', '  DEBUG: "YES"', '  "ON": "on"', '  "N": "n"', '  CPU: "0.1"', '  MEM: "2048"', '  URL: https://x', '  EMPTY: ""', 'List: []', ''].join('\n'));
  });

  it('reads YAML 1.1 booleans as booleans and keeps quoted ones strings', () => {
    expect(parseYaml('a: yes\nb: "yes"\nc: 0.1\n', 'x').value).toEqual({ a: true, b: 'yes', c: 0.1 });
  });

  it('names the file and line of a syntax error', () => {
    let e: SousError | undefined;
    try {
      parseYaml('a: 1\nb: [\n', 'manifests/x.yaml');
    } catch (x) {
      e = x as SousError;
    }
    expect(e?.code).toBe('YAML_INVALID');
    expect(e?.message).toMatch(/^manifests\/x\.yaml:\d+:\d+: /);
    expect(e?.hints.length).toBeGreaterThan(0);
  });

  it('refuses duplicate keys', () => {
    expect(() => parseYaml('a: 1\na: 2\n', 'x')).toThrow(/x/);
  });
});

describe('renderYamlUpdate', () => {
  it.each(FILES)('gives back %s byte for byte when nothing changed', (f) => {
    const text = fs.readFileSync(path.join(FIXTURES, f), 'utf8');
    expect(renderYamlUpdate(text, parseYaml(text, f).value)).toBe(text);
  });

  it('changes only the line of the field that changed', () => {
    const f = 'manifests/github.com/opentable/sous.yaml';
    const text = fs.readFileSync(path.join(FIXTURES, f), 'utf8');
    const v = parseYaml(text, f).value as { Deployments: Record<string, { NumInstances: number }> };
    v.Deployments['cluster-1'].NumInstances = 9;
    const out = renderYamlUpdate(text, v);
    const a = text.split('\n');
    const b = out.split('\n');
    expect(b).toHaveLength(a.length);
    const diff = a.map((l, i) => (l === b[i] ? null : [l, b[i]])).filter(Boolean);
    expect(diff).toEqual([['    NumInstances: 6', '    NumInstances: 9']]);
    // Quoting the original chose for untouched values stays.
    expect(out).toContain('SingularityRequestID: "service1-cluster1"');
  });

  it('adds a new key after the one before it and drops removed keys', () => {
    const out = renderYamlUpdate('A: 1\nC: 3\nD: 4\n', { A: 1, B: 2, C: 3 });
    expect(out).toBe('A: 1\nB: 2\nC: 3\n');
  });
});

describe('renderYamlUpdate with records of fields', () => {
  const text = 'Source: x\nDeployments:\n  a:\n    Env: {}\n    NumInstances: 1\n    Startup:\n      Timeout: 0\n      CheckReadyURIPath: /health\n  b:\n    Env: {}\n';
  const records = (p: readonly string[]) => p.length === 0 || (p[0] === 'Deployments' && (p.length === 2 || (p.length === 3 && p[2] === 'Startup')));

  it('keeps empty fields of a record that the new value leaves out, byte for byte', () => {
    expect(renderYamlUpdate(text, { Source: 'x', Deployments: { a: { NumInstances: 1, Startup: { CheckReadyURIPath: '/health' } }, b: {} } }, records)).toBe(text);
  });

  it('drops a field that is not empty, and a name (a deployment, an env key) even when its value is empty', () => {
    const out = renderYamlUpdate('Source: x\nDeployments:\n  a:\n    Env:\n      EMPTY: ""\n      K: v\n  b:\n    Env: {}\n', { Source: 'x', Deployments: { a: { Env: { K: 'v' } } } }, records);
    expect(out).toBe('Source: x\nDeployments:\n  a:\n    Env:\n      K: v\n');
  });

  it('without records, an empty field the value leaves out is dropped as before', () => {
    expect(renderYamlUpdate('A: 1\nB: {}\n', { A: 1 })).toBe('A: 1\n');
  });
});
