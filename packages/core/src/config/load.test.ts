import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { loadConfig, findRepoConfig } from './load';
import { defineConfig } from './define';
import type { SousError } from '../errors';
import type { UserConfig } from './types';

let tmp: string;
let repo: string;
let xdg: string;

function write(file: string, text: string): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

/** An environment with nothing from the real user: temp XDG dirs and a fixed user. */
function env(extra: Record<string, string> = {}): Record<string, string> {
  return { XDG_CONFIG_HOME: xdg, XDG_DATA_HOME: path.join(tmp, 'data'), HOME: tmp, SOUS_USER_NAME: 'Tess', SOUS_USER_EMAIL: 'tess@example.com', ...extra };
}

async function loadErr(p: Promise<unknown>): Promise<SousError> {
  try {
    await p;
  } catch (e) {
    return e as SousError;
  }
  throw new Error('expected an error');
}

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sous-config-'));
  repo = path.join(tmp, 'app');
  xdg = path.join(tmp, 'xdg');
  fs.mkdirSync(repo, { recursive: true });
  execFileSync('git', ['init', '-q', repo]);
});

afterEach(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('defineConfig', () => {
  it('returns what it is given: an object, a promise, a function', async () => {
    const o: UserConfig = { stack: 'node' };
    expect(defineConfig(o)).toBe(o);
    const p = Promise.resolve(o);
    expect(defineConfig(p)).toBe(p);
    const f = () => o;
    expect(defineConfig(f)).toBe(f);
  });
});

describe('finding the repository config', () => {
  it.each([
    ['sous.config.ts', "import { defineConfig } from '@sous/core';\nconst stack: string = 'go';\nexport default defineConfig({ stack });\n"],
    ['sous.config.js', "module.exports = { stack: 'go' };\n"],
    ['sous.config.cjs', "module.exports = { stack: 'go' };\n"],
    ['sous.config.json', '{ "stack": "go" }\n'],
    ['sous.config.yaml', 'stack: go\n'],
    ['sous.config.yml', 'stack: go\n'],
    ['package.json', '{ "name": "app", "sous": { "stack": "go" } }\n'],
  ])('reads %s', async (file, text) => {
    write(path.join(repo, file), text);
    const cfg = await loadConfig({ cwd: repo, env: env() });
    expect(cfg.stack).toBe('go');
    expect(cfg.origins.stack).toBe('repo');
    expect(cfg.files.repo).toBe(path.join(repo, file));
  });

  it('ignores a package.json without a sous key, and looks up to the git root only', async () => {
    write(path.join(repo, 'package.json'), '{ "name": "app" }');
    write(path.join(tmp, 'sous.config.yaml'), 'stack: outside\n');
    const sub = path.join(repo, 'services', 'api');
    fs.mkdirSync(sub, { recursive: true });
    expect(findRepoConfig(sub)).toBeUndefined();
    write(path.join(repo, 'sous.config.json'), '{ "stack": "java" }');
    expect(findRepoConfig(sub)).toBe(path.join(repo, 'sous.config.json'));
    expect((await loadConfig({ cwd: sub, env: env() })).stack).toBe('java');
  });

  it('resolves a promise and calls a function of { command, env }', async () => {
    write(path.join(repo, 'sous.config.ts'), "export default async ({ command, env }: { command: string; env: Record<string, string> }) => ({ stack: command + '-' + env.WHICH });\n");
    const cfg = await loadConfig({ cwd: repo, env: env({ WHICH: 'x' }), command: 'build' });
    expect(cfg.stack).toBe('build-x');
    write(path.join(repo, 'sous.config.ts'), "export default Promise.resolve({ stack: 'promised' });\n");
    expect((await loadConfig({ cwd: repo, env: env() })).stack).toBe('promised');
  });

  it('skips the repository config when asked', async () => {
    write(path.join(repo, 'sous.config.yaml'), 'stack: go\n');
    expect((await loadConfig({ cwd: repo, env: env(), repoConfig: false })).stack).toBeUndefined();
  });
});

describe('the user/operator config', () => {
  it('is read from $XDG_CONFIG_HOME/sous/config.yaml', async () => {
    write(path.join(xdg, 'sous', 'config.yaml'), 'stateLocation: /srv/state\nregistry: reg.example:5000\n');
    const cfg = await loadConfig({ cwd: repo, env: env() });
    expect(cfg.stateLocation).toBe('/srv/state');
    expect(cfg.registry).toBe('reg.example:5000');
    expect(cfg.origins.registry).toBe('user');
    expect(cfg.files.user).toBe(path.join(xdg, 'sous', 'config.yaml'));
  });

  it('or from --config (or SOUS_CONFIG), which must exist', async () => {
    write(path.join(xdg, 'sous', 'config.yaml'), 'registry: from-xdg\n');
    const other = write(path.join(tmp, 'ops.json'), '{ "registry": "from-flag" }');
    expect((await loadConfig({ cwd: repo, env: env(), configFile: other })).registry).toBe('from-flag');
    expect((await loadConfig({ cwd: repo, env: env({ SOUS_CONFIG: other }) })).registry).toBe('from-flag');
    const e = await loadErr(loadConfig({ cwd: repo, env: env(), configFile: path.join(tmp, 'missing.yaml') }));
    expect(e.code).toBe('CONFIG_NOT_FOUND');
    expect(e.exit).toBe(2);
  });

  it('defaults the state location under $XDG_DATA_HOME', async () => {
    const cfg = await loadConfig({ cwd: repo, env: env() });
    expect(cfg.stateLocation).toBe(path.join(tmp, 'data', 'sous', 'state'));
    expect(cfg.origins.stateLocation).toBe('default');
  });
});

describe('precedence: defaults < repo < user < SOUS_* < flags', () => {
  it('lets each layer override the ones before, merging objects key by key', async () => {
    write(path.join(repo, 'sous.config.yaml'), 'stack: node\nregistry: repo-reg\nbuild:\n  args:\n    A: repo\n  strict: true\nrectify:\n  retries: 1\n');
    write(path.join(xdg, 'sous', 'config.yaml'), 'registry: user-reg\nstateLocation: /from/user\nbuild:\n  platform: linux/amd64\n');
    const cfg = await loadConfig({
      cwd: repo,
      env: env({ SOUS_STATE_LOCATION: '/from/env', SOUS_DOCKER_REGISTRY_HOST: 'env-reg' }),
      flags: { registry: 'flag-reg' },
    });
    expect(cfg.stack).toBe('node');
    expect(cfg.origins.stack).toBe('repo');
    expect(cfg.stateLocation).toBe('/from/env');
    expect(cfg.origins.stateLocation).toBe('env');
    expect(cfg.registry).toBe('flag-reg');
    expect(cfg.origins.registry).toBe('flag');
    expect(cfg.build).toEqual({ args: { A: 'repo' }, strict: true, platform: 'linux/amd64' });
    expect(cfg.rectify).toEqual({ concurrency: 10, retries: 1, holdAfterFailures: 3, resyncSeconds: 60 });
    expect(cfg.user).toEqual({ name: 'Tess', email: 'tess@example.com' });
    expect(Object.isFrozen(cfg)).toBe(true);
  });

  it('concatenates plugin lists', async () => {
    write(path.join(repo, 'sous.config.js'), "module.exports = { plugins: [{ name: 'a', apply() {} }] };\n");
    write(path.join(xdg, 'sous', 'config.js'), "module.exports = { plugins: [{ name: 'b', apply() {} }] };\n");
    const cfg = await loadConfig({ cwd: repo, env: env() });
    expect(cfg.plugins.map((p) => p.name)).toEqual(['a', 'b']);
  });

  it('reads sign.insecureRegistries as registries.<host>.insecure, with a deprecation warning', async () => {
    write(path.join(xdg, 'sous', 'config.yaml'), 'sign:\n  insecureRegistries: [registry.lan:5000]\nregistries:\n  registry.lan:5000:\n    caFile: /etc/ca.pem\n');
    const cfg = await loadConfig({ cwd: repo, env: env() });
    expect(cfg.registries).toEqual({ 'registry.lan:5000': { caFile: '/etc/ca.pem', insecure: true } });
    expect(cfg.warnings).toEqual(['sign.insecureRegistries is deprecated: write registries: { "registry.lan:5000": { insecure: true } } instead']);
  });

  it('warns about an unknown SOUS_* variable with the nearest known one', async () => {
    const cfg = await loadConfig({ cwd: repo, env: env({ SOUS_STATE_LOCATON: '/x' }) });
    expect(cfg.warnings).toEqual(['unknown environment variable SOUS_STATE_LOCATON (did you mean SOUS_STATE_LOCATION?)']);
  });
});

describe('validation', () => {
  it('gives an unknown key a did-you-mean hint, naming the file', async () => {
    const f = write(path.join(repo, 'sous.config.yaml'), 'stak: node\n');
    const e = await loadErr(loadConfig({ cwd: repo, env: env() }));
    expect(e.code).toBe('CONFIG_UNKNOWN_KEY');
    expect(e.file).toBe(f);
    expect(e.field).toBe('stak');
    expect(e.message).toContain(f);
    expect(e.hints[0]).toBe('did you mean "stack"?');
    expect(e.exit).toBe(2);
  });

  it('an unknown nested key too', async () => {
    write(path.join(xdg, 'sous', 'config.yaml'), 'rectify:\n  concurency: 3\n');
    const e = await loadErr(loadConfig({ cwd: repo, env: env() }));
    expect(e.code).toBe('CONFIG_UNKNOWN_KEY');
    expect(e.field).toBe('rectify.concurency');
    expect(e.hints[0]).toBe('did you mean "concurrency"?');
  });

  it('refuses a value of the wrong type or out of range', async () => {
    write(path.join(repo, 'sous.config.json'), '{ "rectify": { "concurrency": 0 } }');
    const e = await loadErr(loadConfig({ cwd: repo, env: env() }));
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.field).toBe('rectify.concurrency');
    write(path.join(repo, 'sous.config.json'), '{ "logLevel": "loud" }');
    const e2 = await loadErr(loadConfig({ cwd: repo, env: env() }));
    expect(e2.field).toBe('logLevel');
  });

  it('refuses a bad SOUS_* value and bad flags', async () => {
    const e = await loadErr(loadConfig({ cwd: repo, env: env({ SOUS_LOG_LEVEL: 'chatty' }) }));
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.message).toContain('SOUS_');
    const f = await loadErr(loadConfig({ cwd: repo, env: env(), flags: { logLevel: 'x' as never } }));
    expect(f.code).toBe('CONFIG_INVALID');
  });

  it('reports syntax errors with the file and position', async () => {
    const f = write(path.join(repo, 'sous.config.ts'), 'export default defineConfig({ stack: "go" ;\n');
    const e = await loadErr(loadConfig({ cwd: repo, env: env() }));
    expect(e.code).toBe('CONFIG_SYNTAX');
    expect(e.message).toMatch(new RegExp(`^${f.replace(/[.]/g, '\\.')}:1:\\d+: `));
    write(path.join(repo, 'sous.config.ts'), '');
    fs.rmSync(path.join(repo, 'sous.config.ts'));
    write(path.join(repo, 'sous.config.yaml'), 'stack: [\n');
    expect((await loadErr(loadConfig({ cwd: repo, env: env() }))).code).toBe('CONFIG_LOAD_FAILED');
    fs.rmSync(path.join(repo, 'sous.config.yaml'));
    write(path.join(repo, 'sous.config.json'), '{ "stack": ');
    expect((await loadErr(loadConfig({ cwd: repo, env: env() }))).code).toBe('CONFIG_LOAD_FAILED');
  });

  it('refuses a config that is not an object, a function that throws, and a plugin that is not one', async () => {
    write(path.join(repo, 'sous.config.js'), 'module.exports = () => [1, 2];\n');
    expect((await loadErr(loadConfig({ cwd: repo, env: env() }))).code).toBe('CONFIG_INVALID');
    write(path.join(repo, 'sous.config.js'), "module.exports = () => { throw new Error('nope'); };\n");
    const thrown = await loadErr(loadConfig({ cwd: repo, env: env() }));
    expect(thrown.code).toBe('CONFIG_LOAD_FAILED');
    expect(thrown.message).toContain('nope');
    write(path.join(repo, 'sous.config.js'), 'module.exports = { plugins: [function swarm() {}] };\n');
    const p = await loadErr(loadConfig({ cwd: repo, env: env() }));
    expect(p.code).toBe('CONFIG_INVALID_PLUGIN');
    expect(p.field).toBe('plugins.0');
  });
});
