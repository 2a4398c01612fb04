/**
 * Every CLI command end to end on the embedded git store, through the real
 * binary with --json, with temp state and config directories.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ORIGINAL_STATE, commitCount, fsck, git, head, makeStateRepo, tempDir, worktreeClean } from '../helpers/state-repo';
import { ROOT, makeSousEnv, requireBuilt, sousSync, type SousEnv } from '../helpers/sous';

const SOUS = ['--repo', 'github.com/opentable/sous'];
let dir: string;
let env: SousEnv;

beforeAll(() => requireBuilt());
beforeEach(() => {
  dir = tempDir('sous-cli-');
  env = makeSousEnv(dir);
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function ok(args: string[], opts: Parameters<typeof sousSync>[2] = {}) {
  const r = sousSync(env, [...args, '--json'], opts);
  if (r.code !== 0) throw new Error(`sous ${args.join(' ')} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  return r.json;
}

/** An application repository whose origin is github.com/acme/shop, tagged 1.2.0. */
function appRepo(): string {
  const app = path.join(dir, 'shop');
  fs.mkdirSync(path.join(app, 'api'), { recursive: true });
  fs.writeFileSync(path.join(app, 'api', 'server.js'), 'console.log(1)\n');
  git(app, 'init', '-q', '-b', 'main');
  git(app, 'remote', 'add', 'origin', 'git@github.com:acme/shop.git');
  git(app, 'add', '-A');
  git(app, 'commit', '-q', '-m', 'shop');
  git(app, 'tag', '1.2.0');
  return app;
}

describe('every command', () => {
  const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'packages/cli/oclif.manifest.json'), 'utf8')) as { commands: Record<string, { summary?: string; examples?: string[]; flags: Record<string, unknown> }> };
  const required = ['init', 'manifest:get', 'manifest:set', 'manifest:edit', 'metadata:get', 'metadata:set', 'scale', 'cluster:add', 'cluster:remove', 'cluster:list', 'query:gdm', 'query:artifacts', 'context', 'config', 'version'];

  it('exists, with a summary, examples and --json', () => {
    expect(Object.keys(manifest.commands)).toEqual(expect.arrayContaining(required));
    for (const [id, c] of Object.entries(manifest.commands)) {
      expect([id, Boolean(c.summary)]).toEqual([id, true]);
      expect([id, (c.examples ?? []).length > 0]).toEqual([id, true]);
      expect([id, 'json' in c.flags]).toEqual([id, true]);
    }
  });

  it("answers --help from the build's help cache exactly as oclif would", () => {
    const { execFileSync } = require('node:child_process') as typeof import('node:child_process');
    for (const argv of [['scale', '--help'], ['manifest', 'get', '--help'], ['cluster', '--help']]) {
      const fast = sousSync(env, argv);
      const script = `require('@oclif/core/execute').execute({ dir: ${JSON.stringify(path.join(ROOT, 'packages/cli/bin'))}, args: ${JSON.stringify(argv)} })`;
      const slow = execFileSync(process.execPath, ['-e', script], { cwd: path.join(ROOT, 'packages/cli'), encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
      expect(fast.code).toBe(0);
      expect(fast.stdout).toBe(slow);
    }
  });

  it('prints help with examples and exits 0', () => {
    const r = sousSync(env, ['scale', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('EXAMPLES');
    expect(r.stdout).toContain('-cluster prod 3');
    const top = sousSync(env, ['--help']);
    expect(top.code).toBe(0);
    for (const topic of ['manifest', 'metadata', 'cluster', 'query']) expect(top.stdout).toContain(topic);
  });
});

describe('on an empty state', () => {
  it('cluster add, list, query clusters, remove', () => {
    const added = ok(['cluster', 'add', '--name', 'local', '--kind', 'docker', '--base-url', 'unix:///var/run/docker.sock', '--env', 'REGION=eu', '--allow-advisory', 'dirty workspace']);
    expect(added).toMatchObject({ name: 'local', changed: true, cluster: { Kind: 'docker', Env: { REGION: 'eu' }, AllowedAdvisories: ['dirty workspace'] } });
    ok(['cluster', 'add', '--name', 'prod', '--kind', 'swarm', '--base-url', 'tcp://10.0.0.5:2375', '--registry', 'reg.prod:5000', '--require-signature']);
    expect(ok(['cluster', 'list']).clusters.map((c: { name: string }) => c.name)).toEqual(['local', 'prod']);
    expect(ok(['query', 'clusters']).clusters[1]).toMatchObject({ name: 'prod', Kind: 'swarm', Registry: 'reg.prod:5000', RequireSignature: true });
    expect(fs.readFileSync(path.join(env.state, 'defs.yaml'), 'utf8')).toContain('  prod:\n    Name: prod\n    Kind: swarm\n');
    // The same again changes nothing.
    const before = head(env.state);
    expect(ok(['cluster', 'add', '--name', 'prod', '--kind', 'swarm', '--base-url', 'tcp://10.0.0.5:2375', '--registry', 'reg.prod:5000', '--require-signature', '--replace']).changed).toBe(false);
    expect(head(env.state)).toBe(before);
    ok(['cluster', 'remove', 'prod']);
    expect(ok(['cluster', 'list']).clusters).toHaveLength(1);
    expect(git(env.state, 'log', '--format=%an|%s')).toBe(['Test User|Remove cluster prod', 'Test User|Redefine cluster prod (swarm)', 'Test User|Add cluster prod (swarm)', 'Test User|Add cluster local (docker)', 'Test User|Initialise Sous state'].filter((l) => !l.includes('Redefine')).join('\n'));
  });

  it('init inside an application repository, then manifest get, scale, metadata, query gdm', () => {
    ok(['cluster', 'add', '--name', 'local', '--kind', 'docker', '--base-url', 'unix:///var/run/docker.sock']);
    ok(['cluster', 'add', '--name', 'staging', '--kind', 'docker', '--base-url', 'unix:///var/run/docker.sock', '--env', 'LOG=debug']);
    const app = appRepo();
    const cwd = path.join(app, 'api');
    const init = ok(['init', '--kind', 'worker', '--owner', 'alice@example.com'], { cwd });
    expect(init.manifestID).toBe('github.com/acme/shop,api');
    expect(Object.keys(init.manifest.Deployments)).toEqual(['local', 'staging']);
    expect(init.configFile).toBe(path.join(cwd, 'sous.config.ts'));
    expect(fs.readFileSync(path.join(cwd, 'sous.config.ts'), 'utf8')).toContain('defineConfig');
    expect(fs.existsSync(path.join(env.state, 'manifests/github.com/acme/shop,api.yaml'))).toBe(true);

    // The repo and offset come from the current directory; --repo/--offset and --source name them elsewhere.
    const got = ok(['manifest', 'get'], { cwd });
    expect(got).toMatchObject({ manifestID: 'github.com/acme/shop,api', manifest: { Kind: 'worker', Owners: ['alice@example.com'] } });
    const yaml = sousSync(env, ['manifest', 'get', '--source', 'github.com/acme/shop,api']);
    expect(yaml.stdout).toBe(fs.readFileSync(path.join(env.state, 'manifests/github.com/acme/shop,api.yaml'), 'utf8'));

    expect(ok(['scale', '-cluster', 'staging', '3'], { cwd })).toMatchObject({ deploymentID: 'staging:github.com/acme/shop,api', instances: 3, changed: true });
    expect(ok(['scale', '--cluster', 'local', '--instances', '2', '--repo', 'github.com/acme/shop', '--offset', 'api']).instances).toBe(2);

    ok(['metadata', 'set', '--cluster', 'staging', 'team', 'payments'], { cwd });
    ok(['metadata', 'set', 'tier', 'gold', '-source', 'github.com/acme/shop,api']);
    expect(ok(['metadata', 'get'], { cwd }).metadata).toEqual({ local: { tier: 'gold' }, staging: { team: 'payments', tier: 'gold' } });
    expect(ok(['metadata', 'get', '--cluster', 'staging', 'team'], { cwd })).toEqual({ key: 'team', values: { staging: 'payments' } });
    ok(['metadata', 'set', '--unset', 'tier', '--cluster', 'local'], { cwd });
    expect(ok(['metadata', 'get', '--cluster', 'local'], { cwd }).metadata).toEqual({ local: {} });

    const all = ok(['query', 'gdm']);
    expect(all.deployments.map((d: { deploymentID: string; instances: number }) => `${d.deploymentID}=${d.instances}`)).toEqual(['local:github.com/acme/shop,api=2', 'staging:github.com/acme/shop,api=3']);
    // Expanded with the cluster's Env.
    expect(all.deployments[1].spec.Env).toEqual({ LOG: 'debug' });
    expect(ok(['query', 'gdm', '--cluster', 'local']).deployments).toHaveLength(1);
    expect(ok(['query', 'gdm', '--repo', 'github.com/acme/other']).deployments).toHaveLength(0);
    expect(ok(['query', 'gdm', '--offset', 'api', '--flavor', '']).deployments).toHaveLength(2);

    // Every change is one commit by the acting user; the store is healthy.
    expect(commitCount(env.state)).toBe(1 + 2 + 1 + 2 + 3);
    expect(git(env.state, 'log', '-1', '--format=%an <%ae>')).toBe('Test User <test@example.com>');
    expect(worktreeClean(env.state)).toBe(true);
    fsck(env.state);
  });

  it('flavors are separate manifests', () => {
    ok(['cluster', 'add', '--name', 'local', '--kind', 'docker']);
    ok(['init', '--repo', 'github.com/acme/shop']);
    ok(['init', '--repo', 'github.com/acme/shop', '-flavor', 'canary', '--kind', 'worker']);
    ok(['scale', '--cluster', 'local', '0', '--repo', 'github.com/acme/shop', '--flavor', 'canary']);
    const rows = ok(['query', 'gdm']).deployments.map((d: { deploymentID: string; instances: number }) => `${d.deploymentID}=${d.instances}`);
    expect(rows).toEqual(['local:github.com/acme/shop=1', 'local:github.com/acme/shop~canary=0']);
    expect(fs.existsSync(path.join(env.state, 'manifests/github.com/acme/shop~canary.yaml'))).toBe(true);
    expect(ok(['query', 'gdm', '--flavor', 'canary']).deployments).toHaveLength(1);
  });
});

describe('on the original Sous state', () => {
  beforeEach(() => makeStateRepo(env.state));

  it('manifest get prints the file as stored; set with it back makes no commit', () => {
    const file = path.join(ORIGINAL_STATE, 'manifests/github.com/opentable/sous.yaml');
    const r = sousSync(env, ['manifest', 'get', ...SOUS]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(fs.readFileSync(file, 'utf8'));
    const before = head(env.state);
    expect(ok(['manifest', 'set', ...SOUS], { stdin: r.stdout }).changed).toBe(false);
    expect(head(env.state)).toBe(before);
  });

  it('scale changes one line of one file, in one commit', () => {
    const before = head(env.state);
    ok(['scale', '-cluster', 'other-cluster', '4', ...SOUS]);
    expect(git(env.state, 'rev-parse', 'HEAD~1')).toBe(before);
    const diff = git(env.state, 'diff', '-U0', before, 'HEAD').split('\n').filter((l) => /^[-+][^-+]/.test(l));
    expect(diff).toEqual(['-    NumInstances: 3', '+    NumInstances: 4']);
    expect(git(env.state, 'log', '-1', '--format=%an|%s')).toBe('Test User|Scale github.com/opentable/sous in other-cluster to 4');
    // Scaling to what it is already makes no commit.
    expect(ok(['scale', '-cluster', 'other-cluster', '4', ...SOUS]).changed).toBe(false);
    expect(git(env.state, 'rev-parse', 'HEAD~1')).toBe(before);
  });

  it('manifest set writes a changed manifest from a file', () => {
    const text = fs.readFileSync(path.join(ORIGINAL_STATE, 'manifests/github.com/user/project.yaml'), 'utf8').replace('DEBUG: "YES"', 'DEBUG: "NO"');
    fs.writeFileSync(path.join(dir, 'm.yaml'), text);
    const r = ok(['manifest', 'set', '--repo', 'github.com/user/project', '--file', path.join(dir, 'm.yaml')]);
    expect(r.changed).toBe(true);
    expect(fs.readFileSync(path.join(env.state, 'manifests/github.com/user/project.yaml'), 'utf8')).toBe(text);
  });

  it('manifest edit runs $EDITOR on the stored manifest and writes the result', () => {
    const editor = path.join(dir, 'editor.sh');
    fs.writeFileSync(editor, '#!/bin/sh\nsed -i "s/- Sam/- Sam\\n- Robin/" "$1"\n', { mode: 0o755 });
    const r = ok(['manifest', 'edit', ...SOUS], { env: { EDITOR: editor } });
    expect(r.changed).toBe(true);
    const m = ok(['manifest', 'get', ...SOUS]).manifest;
    expect(m.Owners).toEqual(['Judson', 'Sam', 'Robin']);
    expect(git(env.state, 'diff', '--stat', 'HEAD~1', 'HEAD')).toContain('1 insertion');
  });

  it('query artifacts lists the artifact index', () => {
    expect(ok(['query', 'artifacts']).artifacts).toEqual([]);
    const rec = 'Source: github.com/opentable/sous\nVersion: 1.0.0-rc.1+deadbeef\nImage: reg:5000/github.com/opentable/sous:1.0.0-rc.1\nDigest: sha256:' + 'b'.repeat(64) + '\nRevision: deadbeef\n';
    fs.mkdirSync(path.join(env.state, 'artifacts/github.com/opentable/sous'), { recursive: true });
    fs.writeFileSync(path.join(env.state, 'artifacts/github.com/opentable/sous/1.0.0-rc.1+deadbeef.yaml'), rec);
    git(env.state, 'add', '-A');
    git(env.state, 'commit', '-q', '-m', 'artifact');
    const all = ok(['query', 'artifacts']).artifacts;
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ Source: 'github.com/opentable/sous', Digest: `sha256:${'b'.repeat(64)}` });
    expect(ok(['query', 'artifacts', ...SOUS, '--offset', '', '--version', '1.0.0-rc.1+deadbeef']).artifacts).toHaveLength(1);
    expect(ok(['query', 'artifacts', '--repo', 'github.com/user/project']).artifacts).toHaveLength(0);
  });
});

describe('context, config, version', () => {
  it('context describes the current repository', () => {
    const app = appRepo();
    const c = ok(['context'], { cwd: path.join(app, 'api') });
    expect(c).toMatchObject({ repo: 'github.com/acme/shop', offset: 'api', version: '1.2.0', tag: '1.2.0', dirty: false });
    expect(c.revision).toMatch(/^[0-9a-f]{40}$/);
    expect(c.advisories).toContain('unpushed revision');
  });

  it('config shows the resolved settings and where each came from', () => {
    fs.mkdirSync(path.join(env.config, 'sous'), { recursive: true });
    fs.writeFileSync(path.join(env.config, 'sous', 'config.yaml'), 'registry: reg.example:5000\ntoken: s3cret\n');
    const c = ok(['config'], { env: { SOUS_LOG_LEVEL: 'debug' } });
    expect(c.config).toMatchObject({ stateLocation: env.state, registry: 'reg.example:5000', logLevel: 'debug', token: '[set]' });
    expect(c.origins).toMatchObject({ stateLocation: 'env', registry: 'user', logLevel: 'env' });
    expect(c.files.user).toBe(path.join(env.config, 'sous', 'config.yaml'));
    expect(JSON.stringify(c)).not.toContain('s3cret');
  });

  it('version', () => {
    const v = ok(['version']);
    expect(v.version).toBe(JSON.parse(fs.readFileSync(path.join(ROOT, 'packages/cli/package.json'), 'utf8')).version);
    const plain = sousSync(env, ['--version']);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toContain(v.version);
  });
});

describe('errors', () => {
  it('print the code and hints for people, and exit 2 for usage errors', () => {
    makeStateRepo(env.state);
    const r = sousSync(env, ['scale', '-cluster', 'cluster-2', '3', ...SOUS]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Error: cluster "cluster-2" is not defined  [UNKNOWN_CLUSTER]');
    expect(r.stderr).toContain('Try this: did you mean "cluster-1"?');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const debug = sousSync(env, ['scale', '-cluster', 'cluster-2', '3', ...SOUS, '--debug']);
    expect(debug.stderr).toMatch(/\n\s+at /);
  });

  it('exit 1 for failures: a broken state repository', () => {
    makeStateRepo(env.state);
    fs.writeFileSync(path.join(env.state, '.git', 'HEAD'), 'ref: refs/heads/gone\n');
    const r = sousSync(env, ['query', 'gdm', '--json']);
    expect(r.code).toBe(1);
    expect(r.json.error.code).toBe('STATE_BRANCH_MISSING');
    expect(r.json.error.exit).toBe(1);
    expect(r.json.error.hints.length).toBeGreaterThan(0);
  });
});
