import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Sous, type BuildPlan, type ResolvedConfig, type Workspace } from '@sous/core';
import { nodeStack, NodeStackPlugin } from './index';

function config(over: Partial<ResolvedConfig> = {}): ResolvedConfig {
  return { warnings: [], stacks: {}, build: {}, ...over } as unknown as ResolvedConfig;
}

const emptyPlan = (dir: string): BuildPlan => ({ stack: 'node', dockerfile: '', contextDir: dir, extraFiles: {}, buildArgs: {}, secrets: {}, labels: {}, inputs: {}, ignore: ['.git'] });

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sous-node-plugin-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('nodeStack()', () => {
  it('is named sous:stack-node', () => {
    expect(nodeStack().name).toBe('sous:stack-node');
    expect(NodeStackPlugin.PLUGIN_NAME).toBe('sous:stack-node');
  });

  it('recognises a directory with a package.json, and nothing else', async () => {
    const sous = new Sous(config()).use(nodeStack());
    const ws = { dir, config: sous.config } as Workspace;
    expect(await sous.hooks.detectStack.promise(ws)).toBeUndefined();
    fs.writeFileSync(path.join(dir, 'package.json'), '{}');
    expect(await sous.hooks.detectStack.promise(ws)).toBe('node');
  });

  it('refuses an unknown option in the config with a "did you mean"', () => {
    const sous = new Sous(config({ stacks: { node: { buildImage: 'x' } } })).use(nodeStack());
    expect(() => sous.validateConfig()).toThrow(expect.objectContaining({ code: 'STACK_OPTION_UNKNOWN', field: 'stacks.node.buildImage', message: expect.stringContaining('did you mean builderImage?') }));
  });

  it('refuses an option of the wrong kind, in the factory options too', () => {
    expect(() => new Sous(config({ stacks: { node: { command: 'node a.js' } } })).use(nodeStack()).validateConfig()).toThrow(
      expect.objectContaining({ code: 'STACK_OPTION_INVALID', message: expect.stringContaining('stacks.node.command must be a non-empty array of strings') }),
    );
    expect(() => new Sous(config()).use(nodeStack({ user: '0' })).validateConfig()).toThrow(expect.objectContaining({ code: 'STACK_OPTION_INVALID', message: expect.stringContaining('never runs as root') }));
    expect(() => new Sous(config()).use(nodeStack({ user: 'node' })).validateConfig()).toThrow(expect.objectContaining({ code: 'STACK_OPTION_INVALID' }));
  });

  it('plans with the factory options under the config options (the config wins) and the configured CA', async () => {
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ main: 'a.js', dependencies: { left: '1.0.0' } }));
    const ca = path.join(dir, 'ca.pem');
    fs.writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n');
    const cfg = config({ stacks: { node: { runImage: 'from-config:1' } }, build: { caCerts: [ca] } });
    const sous = new Sous(cfg).use(nodeStack({ runImage: 'from-factory:1', builderImage: 'builder-from-factory:1' }));
    const plan = await sous.hooks.buildPlan.for('node').promise(emptyPlan(dir), { dir, config: cfg } as Workspace);
    expect(plan.inputs).toEqual({ 'image:builder': 'builder-from-factory:1', 'image:run': 'from-config:1' });
    expect(plan.ignore).toEqual(['.git', 'node_modules']);
    expect(plan.extraFiles['.sous/ca.pem']).toContain('BEGIN CERTIFICATE');
    expect(plan.command).toEqual(['node', 'a.js']);
  });

  it('reports a missing CA file by name, through the plugin', async () => {
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ main: 'a.js' }));
    const cfg = config({ build: { caCerts: [path.join(dir, 'missing.pem')] } });
    const sous = new Sous(cfg).use(nodeStack());
    await expect(sous.hooks.buildPlan.for('node').promise(emptyPlan(dir), { dir, config: cfg } as Workspace)).rejects.toMatchObject({
      code: 'CA_CERT_NOT_FOUND',
      message: expect.stringContaining(path.join(dir, 'missing.pem')),
    });
  });
});
