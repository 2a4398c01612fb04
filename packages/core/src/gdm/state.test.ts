import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Gdm, intendedDeployments } from './state';
import { GdmStore } from './store';
import { manifestPath } from './layout';
import { parseManifestID } from '../model/ids';
import type { SousError } from '../errors';
import { ORIGINAL_FILES, ORIGINAL_STATE, commitCount, fsck, git, head, makeStateRepo, tempDir, worktreeClean } from '../../../../test/helpers/state-repo';

const alice = { name: 'Alice Example', email: 'alice@example.com' };
const bob = { name: 'Bob Example', email: 'bob@example.com' };
let tmp: string;

beforeEach(() => {
  tmp = tempDir('sous-gdm-');
});
afterEach(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function original(): Promise<{ dir: string; gdm: Gdm }> {
  const dir = makeStateRepo(path.join(tmp, 'state'));
  return { dir, gdm: await Gdm.open(dir, { remote: false }) };
}

describe('an existing Sous state repository', () => {
  it('reads as it is', async () => {
    const { dir, gdm } = await original();
    const s = await gdm.read();
    expect(s.revision).toBe(head(dir));
    expect(s.flaws).toEqual([]);
    expect([...s.manifests.keys()].sort()).toEqual(['github.com/opentable/sous', 'github.com/user/project']);
    expect(s.defs.DockerRepo).toBe('docker.somewhere.horse');
    const sous = s.manifests.get('github.com/opentable/sous')!;
    expect(sous.path).toBe('manifests/github.com/opentable/sous.yaml');
    expect(sous.manifest.Owners).toEqual(['Judson', 'Sam']);
    expect(sous.text).toBe(fs.readFileSync(path.join(ORIGINAL_STATE, sous.path), 'utf8'));
    const deployments = intendedDeployments(s).map((d) => `${d.id} ${d.spec.NumInstances}`).sort();
    expect(deployments).toEqual(['cluster-1:github.com/opentable/sous 6', 'cluster-1:github.com/user/project 0', 'other-cluster:github.com/opentable/sous 3', 'other-cluster:github.com/user/project 0']);
  });

  it('writing back manifests and defs that did not change makes no commit and changes no byte', async () => {
    const { dir, gdm } = await original();
    const before = head(dir);
    const s = await gdm.read();
    const r = await gdm.update((st) => ({ change: { message: 'rewrite', defs: st.defs, setManifests: [...st.manifests.values()].map((m) => m.manifest) }, result: null }), alice);
    expect(r.changed).toBe(false);
    expect(head(dir)).toBe(before);
    expect(s.revision).toBe(before);
    for (const f of ORIGINAL_FILES) expect(fs.readFileSync(path.join(dir, f), 'utf8')).toBe(fs.readFileSync(path.join(ORIGINAL_STATE, f), 'utf8'));
    expect(worktreeClean(dir)).toBe(true);
  });

  it('changing one field changes only that line of that file, in one commit by the acting user', async () => {
    const { dir, gdm } = await original();
    const before = head(dir);
    const r = await gdm.update((st) => {
      const m = st.manifests.get('github.com/opentable/sous')!.manifest;
      m.Deployments!['cluster-1'].NumInstances = 7;
      return { change: { message: 'Scale sous in cluster-1 to 7', setManifests: [m] }, result: null };
    }, alice);
    expect(r.changed).toBe(true);
    expect(git(dir, 'rev-parse', 'HEAD~1')).toBe(before);
    expect(git(dir, 'log', '-1', '--format=%an <%ae>|%cn|%s')).toBe('Alice Example <alice@example.com>|Alice Example|Scale sous in cluster-1 to 7');
    expect(git(dir, 'diff', '--name-only', before, 'HEAD')).toBe('manifests/github.com/opentable/sous.yaml');
    const diff = git(dir, 'diff', '-U0', before, 'HEAD')
      .split('\n')
      .filter((l) => /^[-+][^-+]/.test(l));
    expect(diff).toEqual(['-    NumInstances: 6', '+    NumInstances: 7']);
    // The working tree follows HEAD.
    expect(worktreeClean(dir)).toBe(true);
    expect(fs.readFileSync(path.join(dir, 'manifests/github.com/opentable/sous.yaml'), 'utf8')).toContain('NumInstances: 7');
  });
});

describe('a new state repository', () => {
  it('is created with an empty defs.yaml in one commit', async () => {
    const dir = path.join(tmp, 'new');
    const gdm = await Gdm.open(dir, { user: bob });
    expect(commitCount(dir)).toBe(1);
    expect(git(dir, 'log', '-1', '--format=%an')).toBe('Bob Example');
    const s = await gdm.read();
    expect(s.defs.Clusters).toEqual({});
    expect(s.manifests.size).toBe(0);
  });

  it('refuses a non-empty directory that is not a repository, and a file', async () => {
    fs.writeFileSync(path.join(tmp, 'junk'), 'x');
    await expect(Gdm.open(tmp)).rejects.toMatchObject({ code: 'STATE_NOT_A_REPOSITORY', exit: 2 });
    await expect(Gdm.open(path.join(tmp, 'junk'))).rejects.toMatchObject({ code: 'STATE_NOT_A_DIRECTORY' });
  });

  it('lays manifests out as the original did', () => {
    expect(manifestPath(parseManifestID('github.com/opentable/sous'))).toBe('manifests/github.com/opentable/sous.yaml');
    expect(manifestPath(parseManifestID('github.com/acme/shop,api~canary'))).toBe('manifests/github.com/acme/shop,api~canary.yaml');
    expect(() => manifestPath(parseManifestID('github.com/../../etc'))).toThrow(expect.objectContaining({ code: 'UNSAFE_PATH' }));
    expect(() => manifestPath(parseManifestID('/etc/passwd'))).toThrow(expect.objectContaining({ code: 'UNSAFE_PATH' }));
  });
});

describe('bad files in the state', () => {
  it('are reported as flaws without hiding the rest', async () => {
    const dir = makeStateRepo(path.join(tmp, 'state'));
    fs.mkdirSync(path.join(dir, 'manifests/github.com/bad'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'manifests/github.com/bad/yaml.yaml'), 'Source: [\n');
    fs.writeFileSync(path.join(dir, 'manifests/github.com/bad/place.yaml'), 'Source: github.com/elsewhere/x\nKind: worker\n');
    fs.writeFileSync(path.join(dir, 'manifests/github.com/bad/cluster.yaml'), 'Source: github.com/bad/cluster\nKind: worker\nDeployments:\n  nowhere: {}\n');
    git(dir, 'add', '-A');
    git(dir, 'commit', '-q', '-m', 'bad files');
    const s = await (await Gdm.open(dir, { remote: false })).read();
    expect(s.manifests.size).toBe(3);
    expect(s.flaws.map((f) => `${f.path} ${f.code}`).sort()).toEqual([
      'manifests/github.com/bad/cluster.yaml UNKNOWN_CLUSTER',
      'manifests/github.com/bad/place.yaml MANIFEST_PATH_MISMATCH',
      'manifests/github.com/bad/yaml.yaml YAML_INVALID',
    ]);
  });

  it('a bad defs.yaml stops the read with an error naming it', async () => {
    const dir = makeStateRepo(path.join(tmp, 'state'));
    fs.writeFileSync(path.join(dir, 'defs.yaml'), 'Clusters:\n  x:\n    Kind: docker\n    Bogus: 1\n');
    git(dir, 'commit', '-qam', 'bad defs');
    const e = (await (await Gdm.open(dir, { remote: false })).read().catch((x) => x)) as SousError;
    expect(e.code).toBe('DEFS_UNKNOWN_KEY');
    expect(e.file).toBe('defs.yaml');
  });
});

describe('writes', () => {
  it('refuse a manifest for an unknown cluster and a bad one, writing nothing', async () => {
    const { dir, gdm } = await original();
    const before = head(dir);
    const e = (await gdm
      .update((st) => {
        const m = st.manifests.get('github.com/user/project')!.manifest;
        m.Deployments!.nowhere = {};
        return { change: { message: 'x', setManifests: [m] }, result: null };
      }, alice)
      .catch((x) => x)) as SousError;
    expect(e.code).toBe('UNKNOWN_CLUSTER');
    const e2 = (await gdm
      .update((st) => {
        const m = st.manifests.get('github.com/user/project')!.manifest;
        m.Deployments!['cluster-1'].Version = 'banana';
        return { change: { message: 'x', setManifests: [m] }, result: null };
      }, alice)
      .catch((x) => x)) as SousError;
    expect(e2.code).toBe('MANIFEST_INVALID_VERSION');
    expect(head(dir)).toBe(before);
  });

  it('a stale write to the same file is a GDM_CONFLICT at the store, and Gdm.update re-applies it', async () => {
    const { dir, gdm } = await original();
    const s0 = await gdm.read();
    const file = manifestPath(parseManifestID('github.com/user/project'));
    await gdm.store.write([{ path: file, content: s0.manifests.get('github.com/user/project')!.text.replace('NumInstances: 0', 'NumInstances: 1') }], { base: s0.revision, user: alice, message: 'one' });
    await expect(gdm.store.write([{ path: file, content: 'x' }], { base: s0.revision, user: bob, message: 'stale' })).rejects.toMatchObject({ code: 'GDM_CONFLICT' });
    // A stale write to another file merges.
    const other = manifestPath(parseManifestID('github.com/opentable/sous'));
    const w = await gdm.store.write([{ path: other, content: s0.manifests.get('github.com/opentable/sous')!.text.replace('NumInstances: 6', 'NumInstances: 5') }], { base: s0.revision, user: bob, message: 'other' });
    expect(w.changed).toBe(true);
    const s1 = await gdm.read();
    expect(s1.manifests.get('github.com/user/project')!.manifest.Deployments!['cluster-1'].NumInstances).toBe(1);
    expect(s1.manifests.get('github.com/opentable/sous')!.manifest.Deployments!['cluster-1'].NumInstances).toBe(5);
    fsck(dir);
  });

  it('in-process concurrent updates of one manifest all land', async () => {
    const { dir, gdm } = await original();
    const before = commitCount(dir);
    const n = 12;
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        gdm.update((st) => {
          const m = st.manifests.get('github.com/user/project')!.manifest;
          const spec = m.Deployments!['cluster-1'];
          spec.Metadata = { ...(spec.Metadata ?? {}), [`k${i}`]: String(i) };
          return { change: { message: `set k${i}`, setManifests: [m] }, result: null };
        }, alice, { retries: 100 }),
      ),
    );
    const md = (await gdm.read()).manifests.get('github.com/user/project')!.manifest.Deployments!['cluster-1'].Metadata;
    expect(Object.keys(md!).sort()).toEqual(Array.from({ length: n }, (_, i) => `k${i}`).sort());
    expect(commitCount(dir)).toBe(before + n);
    fsck(dir);
  });

  it('deletes a manifest, and refuses to delete one that does not exist', async () => {
    const { dir, gdm } = await original();
    await gdm.update(() => ({ change: { message: 'rm', deleteManifests: [parseManifestID('github.com/user/project')] }, result: null }), alice);
    expect(fs.existsSync(path.join(dir, 'manifests/github.com/user/project.yaml'))).toBe(false);
    await expect(gdm.update(() => ({ change: { message: 'rm', deleteManifests: [parseManifestID('github.com/user/project')] }, result: null }), alice)).rejects.toMatchObject({ code: 'MANIFEST_NOT_FOUND' });
  });
});

describe('the artifact index', () => {
  it('stores records beside the manifests, one file per version', async () => {
    const { dir, gdm } = await original();
    const rec = { Source: 'github.com/opentable/sous', Version: '1.0.0-rc.1+deadbeef', Image: '127.0.0.1:5000/github.com/opentable/sous:1.0.0-rc.1', Digest: `sha256:${'a'.repeat(64)}`, Revision: 'deadbeef', Advisories: [] };
    const r = await gdm.update(() => ({ change: { message: 'Record artifact', artifacts: [rec as never] }, result: null }), alice);
    expect(r.changed).toBe(true);
    expect(fs.existsSync(path.join(dir, 'artifacts/github.com/opentable/sous/1.0.0-rc.1+deadbeef.yaml'))).toBe(true);
    const got = await gdm.artifact({ repo: 'github.com/opentable/sous', dir: '' }, '1.0.0-rc.1+deadbeef');
    expect(got).toMatchObject({ Digest: rec.Digest });
    expect((await gdm.artifacts({ repo: 'github.com/opentable/sous', dir: '' })).length).toBe(1);
    expect((await gdm.allArtifacts()).length).toBe(1);
    // The manifests still read as before.
    expect((await gdm.read()).flaws).toEqual([]);
  });
});

describe('recovery', () => {
  it('clears stale temporary files and brings the working tree to HEAD', async () => {
    const { dir } = await original();
    const tmpDir = path.join(dir, '.git', 'sous-tmp');
    fs.mkdirSync(tmpDir, { recursive: true });
    const stale = path.join(tmpDir, 'index-1-abc');
    fs.writeFileSync(stale, 'half');
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(stale, old, old);
    // HEAD moved without the working tree (as a killed writer leaves it).
    const blob = git(dir, 'rev-parse', 'HEAD:defs.yaml');
    const tree = git(dir, 'write-tree');
    void blob;
    const commit = git(dir, 'commit-tree', tree, '-p', 'HEAD', '-m', 'moved');
    const s = fs.readFileSync(path.join(dir, 'defs.yaml'), 'utf8');
    git(dir, 'update-ref', 'refs/heads/main', commit);
    await GdmStore.open(dir, { remote: false });
    expect(fs.existsSync(stale)).toBe(false);
    expect(worktreeClean(dir)).toBe(true);
    expect(fs.readFileSync(path.join(dir, 'defs.yaml'), 'utf8')).toBe(s);
  });
});

describe('the working tree on open', () => {
  it('is brought to a branch that moved past it, and left alone (index unwritten) when it is current', async () => {
    const { dir } = await original();
    await GdmStore.open(dir, { remote: false });
    // The branch moves to a commit with a new defs.yaml, through a private index: the checkout lags (a writer killed
    // between its commit and its checkout, or a fetch).
    const tmpIndex = path.join(dir, '.git', 'lag-index');
    const env = { ...process.env, GIT_INDEX_FILE: tmpIndex };
    const run = (args: string[], input?: string) => execFileSync('git', args, { cwd: dir, env, input, encoding: 'utf8' }).trim();
    const changed = `${fs.readFileSync(path.join(dir, 'defs.yaml'), 'utf8')}# moved\n`;
    const blob = run(['hash-object', '-w', '--stdin'], changed);
    run(['read-tree', 'HEAD']);
    run(['update-index', '--cacheinfo', `100644,${blob},defs.yaml`]);
    const commit = run(['commit-tree', run(['write-tree']), '-p', 'HEAD', '-m', 'moved'], '');
    run(['update-ref', 'refs/heads/main', commit]);
    fs.rmSync(tmpIndex);
    await GdmStore.open(dir, { remote: false });
    expect(fs.readFileSync(path.join(dir, 'defs.yaml'), 'utf8')).toBe(changed);
    expect(worktreeClean(dir)).toBe(true);
    const index = path.join(dir, '.git', 'index');
    const before = fs.statSync(index).mtimeMs;
    await new Promise((r) => setTimeout(r, 20));
    await GdmStore.open(dir, { remote: false });
    expect(fs.statSync(index).mtimeMs).toBe(before);
  });
});

describe('the parse cache', () => {
  it('a second read gives the same manifests and texts', async () => {
    const { gdm } = await original();
    const a = await gdm.read();
    const b = await gdm.read();
    for (const [k, m] of a.manifests) {
      expect(b.manifests.get(k)!.text).toBe(m.text);
      expect(b.manifests.get(k)!.manifest).toEqual(m.manifest);
    }
    // Each read hands out its own copy.
    b.manifests.get('github.com/user/project')!.manifest.Kind = 'worker';
    expect((await gdm.read()).manifests.get('github.com/user/project')!.manifest.Kind).toBe('http-service');
  });

  it('checks the same content at another path against that path', async () => {
    const { dir, gdm } = await original();
    await gdm.read();
    fs.mkdirSync(path.join(dir, 'manifests/github.com/copy'), { recursive: true });
    fs.copyFileSync(path.join(dir, 'manifests/github.com/opentable/sous.yaml'), path.join(dir, 'manifests/github.com/copy/sous.yaml'));
    git(dir, 'add', '-A');
    git(dir, 'commit', '-q', '-m', 'copy');
    const s = await gdm.read();
    expect(s.flaws.map((f) => `${f.path} ${f.code}`)).toEqual(['manifests/github.com/copy/sous.yaml MANIFEST_PATH_MISMATCH']);
  });
});

describe('a copied state directory', () => {
  it('is written through without a local-edits warning: the copy only made the index stat data stale', async () => {
    const { dir } = await original();
    const copy = path.join(tmp, 'copy');
    fs.cpSync(dir, copy, { recursive: true });
    // The copy's files have new times; its index still has the old ones.
    const later = new Date(Date.now() + 5000);
    for (const f of ORIGINAL_FILES) fs.utimesSync(path.join(copy, f), later, later);
    const warnings: string[] = [];
    const onWarning = (w: Error & { code?: string }) => warnings.push(`${w.code}: ${w.message}`);
    process.on('warning', onWarning);
    try {
      const gdm = await Gdm.open(copy, { remote: false });
      await gdm.update((s) => ({ change: { message: 'scale', setManifests: [{ ...s.manifests.get('github.com/opentable/sous')!.manifest, Owners: ['x@example.com'] }] }, result: undefined }), alice);
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).toEqual([]);
    expect(worktreeClean(copy)).toBe(true);
  });
});

describe('the GDM identity', () => {
  it('is the root commit, shared by clones; two states made at once differ', async () => {
    const [a, b] = await Promise.all([Gdm.open(path.join(tmp, 'a'), { user: alice }), Gdm.open(path.join(tmp, 'b'), { user: alice })]);
    const [ia, ib] = await Promise.all([a.identity(), b.identity()]);
    expect(ia).toMatch(/^[0-9a-f]{40}$/);
    expect(ia).not.toBe(ib);
    await a.update((s) => ({ change: { message: 'a cluster', defs: { ...s.defs, Clusters: { c: { Kind: 'memory', BaseURL: '', Env: {}, AllowedAdvisories: [] } } } }, result: undefined }), alice);
    execFileSync('git', ['clone', '-q', path.join(tmp, 'a'), path.join(tmp, 'clone')]);
    expect(await (await Gdm.open(path.join(tmp, 'clone'), { remote: false })).identity()).toBe(ia);
    expect(await a.identity()).toBe(ia);
  });
});

describe('a manifest that does not read', () => {
  it('is a flaw that names the manifest it stands for, so it is unknown rather than absent', async () => {
    const { dir } = await original();
    fs.writeFileSync(path.join(dir, 'manifests/github.com/opentable/sous.yaml'), 'Source: [broken\n');
    git(dir, 'commit', '-qam', 'a bad merge');
    const s = await (await Gdm.open(dir, { remote: false })).read();
    expect(s.manifests.has('github.com/opentable/sous')).toBe(false);
    expect(s.flaws).toEqual([{ path: 'manifests/github.com/opentable/sous.yaml', code: 'YAML_INVALID', manifest: 'github.com/opentable/sous', message: expect.stringMatching(/^manifests\/github\.com\/opentable\/sous\.yaml:2:1: /) }]);
  });
});
