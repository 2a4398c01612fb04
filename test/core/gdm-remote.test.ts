/**
 * The state repository with a git remote (a bare repository here): reads
 * pull first, writes push, a rejected push is rebased and retried; two clones
 * writing at once lose nothing.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { Gdm, manifestPath, parseManifestID, type State } from '@sous/core';
import { fsck, git, makeStateRepo, tempDir, worktreeClean } from '../helpers/state-repo';
import { requireBuilt } from '../helpers/sous';

const WRITER = path.resolve(__dirname, '../helpers/gdm-writer.js');
const alice = { name: 'Alice', email: 'alice@example.com' };
const bob = { name: 'Bob', email: 'bob@example.com' };
let dir: string;
let bare: string;

beforeAll(() => requireBuilt());
beforeEach(() => {
  dir = tempDir('sous-remote-');
  bare = path.join(dir, 'remote.git');
  git(dir, 'init', '-q', '--bare', '-b', 'main', bare);
  const a = makeStateRepo(path.join(dir, 'a'));
  git(a, 'remote', 'add', 'origin', bare);
  git(a, 'push', '-q', 'origin', 'main');
  git(dir, 'clone', '-q', bare, path.join(dir, 'b'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const remoteHead = () => git(bare, 'rev-parse', 'main');

function setInstances(n: number, repo = 'github.com/user/project', cluster = 'cluster-1') {
  return (s: State) => {
    const m = s.manifests.get(repo)!.manifest;
    m.Deployments![cluster].NumInstances = n;
    return { change: { message: `Scale ${repo} to ${n}`, setManifests: [m] }, result: null };
  };
}

it('pushes after a write and pulls before a read', async () => {
  const a = await Gdm.open(path.join(dir, 'a'));
  const b = await Gdm.open(path.join(dir, 'b'));
  const w = await a.update(setInstances(4), alice);
  expect(remoteHead()).toBe(w.revision);
  const seen = await b.read();
  expect(seen.revision).toBe(w.revision);
  expect(seen.manifests.get('github.com/user/project')!.manifest.Deployments!['cluster-1'].NumInstances).toBe(4);
  expect(worktreeClean(path.join(dir, 'b'))).toBe(true);
  expect(fs.readFileSync(path.join(dir, 'b', 'manifests/github.com/user/project.yaml'), 'utf8')).toContain('NumInstances: 4');
});

it('rebases a rejected push onto the remote and pushes again; a clash on the same file is a conflict that leaves nothing behind', async () => {
  const a = await Gdm.open(path.join(dir, 'a'));
  const b = await Gdm.open(path.join(dir, 'b'));
  const stale = await b.read();
  await a.update(setInstances(5), alice);
  // B writes another file from its stale read: the push is rejected, rebased, pushed.
  const other = manifestPath(parseManifestID('github.com/opentable/sous'));
  const text = stale.manifests.get('github.com/opentable/sous')!.text.replace('NumInstances: 6', 'NumInstances: 8');
  const w = await b.store.write([{ path: other, content: text }], { base: stale.revision, user: bob, message: 'Scale sous to 8' });
  expect(w.changed).toBe(true);
  expect(remoteHead()).toBe(w.revision);
  expect(git(bare, 'log', '--format=%an|%s', '-2', 'main')).toBe('Bob|Scale sous to 8\nAlice|Scale github.com/user/project to 5');
  // B writes the file A changed, from the same stale read: a conflict, and B's branch is not left ahead of the remote.
  const same = manifestPath(parseManifestID('github.com/user/project'));
  await expect(b.store.write([{ path: same, content: 'x' }], { base: stale.revision, user: bob, message: 'clash' })).rejects.toMatchObject({ code: 'GDM_CONFLICT' });
  expect(remoteHead()).toBe(w.revision);
  expect(git(path.join(dir, 'b'), 'rev-parse', 'main')).toBe(w.revision);
  // Gdm.update re-reads and re-applies instead.
  await b.update(setInstances(9), bob);
  const s = await a.read();
  expect(s.manifests.get('github.com/user/project')!.manifest.Deployments!['cluster-1'].NumInstances).toBe(9);
  expect(s.manifests.get('github.com/opentable/sous')!.manifest.Deployments!['cluster-1'].NumInstances).toBe(8);
  fsck(bare);
});

it('two clones with several writer processes each lose nothing', async () => {
  const runs: Promise<{ code: number | null; acks: string[]; stderr: string }>[] = [];
  for (const clone of ['a', 'b']) {
    for (let w = 0; w < 3; w++) {
      const mid = w === 0 ? 'github.com/opentable/sous' : `github.com/${clone}/w${w}`;
      runs.push(
        new Promise((resolve) => {
          const child = spawn(process.execPath, [WRITER, path.join(dir, clone), `${clone}${w}`, '3', mid, 'cluster-1'], { stdio: ['ignore', 'pipe', 'pipe'] });
          let out = '';
          let stderr = '';
          child.stdout.on('data', (d) => (out += d));
          child.stderr.on('data', (d) => (stderr += d));
          child.on('close', (code) => resolve({ code, acks: out.split('\n').filter((l) => l.startsWith('ACK ')).map((l) => l.slice(4)), stderr }));
        }),
      );
    }
  }
  const results = await Promise.all(runs);
  expect(results.filter((r) => r.code !== 0)).toEqual([]);
  const acked = results.flatMap((r) => r.acks);
  expect(acked).toHaveLength(18);
  // What the remote holds, read through a third clone.
  git(dir, 'clone', '-q', bare, path.join(dir, 'c'));
  const s = await (await Gdm.open(path.join(dir, 'c'))).read();
  const keys = new Set<string>();
  for (const m of s.manifests.values()) for (const [c, spec] of Object.entries(m.manifest.Deployments ?? {})) for (const k of Object.keys(spec.Metadata ?? {})) keys.add(`${m.key} ${c} ${k}`);
  expect(acked.filter((k) => !keys.has(k))).toEqual([]);
  expect(Number(git(bare, 'rev-list', '--count', 'main'))).toBe(1 + 18);
  fsck(bare);
  for (const clone of ['a', 'b']) {
    const g = await Gdm.open(path.join(dir, clone));
    expect((await g.read()).revision).toBe(remoteHead());
    fsck(path.join(dir, clone));
    expect(worktreeClean(path.join(dir, clone))).toBe(true);
  }
});
