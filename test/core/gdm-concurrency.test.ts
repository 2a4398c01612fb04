/**
 * No lost update, ever: many writer processes at once (the real `sous`
 * binary and plain node writers on the built @sous/core), on the same and
 * on different manifests; then writers killed at random moments.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { Gdm } from '@sous/core';
import { commitCount, fsck, git, makeStateRepo, tempDir, worktreeClean } from '../helpers/state-repo';
import { makeSousEnv, requireBuilt, sous } from '../helpers/sous';

const WRITER = path.resolve(__dirname, '../helpers/gdm-writer.js');
let dir: string;

beforeAll(() => requireBuilt());
beforeEach(() => {
  dir = tempDir('sous-conc-');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Every metadata key in the state, as "manifest cluster key". */
async function keysIn(state: string): Promise<Set<string>> {
  const s = await (await Gdm.open(state, { remote: false })).read();
  expect(s.flaws).toEqual([]);
  const out = new Set<string>();
  for (const m of s.manifests.values()) {
    for (const [c, spec] of Object.entries(m.manifest.Deployments ?? {})) for (const k of Object.keys(spec.Metadata ?? {})) out.add(`${m.key} ${c} ${k}`);
  }
  return out;
}

interface Writer {
  acks: string[];
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  kill(): void;
}

function startWriter(state: string, name: string, count: number, mid: string, cluster: string): Writer {
  const child = spawn(process.execPath, [WRITER, state, name, String(count), mid, cluster, 'none'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const acks: string[] = [];
  let buf = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line.startsWith('ACK ')) acks.push(line.slice(4));
    }
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr })));
  return { acks, done, kill: () => child.kill('SIGKILL') };
}

describe('20 concurrent writer processes', () => {
  it('lose nothing, on the same and on different manifests, and leave a clean repository', async () => {
    const env = makeSousEnv(dir);
    makeStateRepo(env.state);
    const start = commitCount(env.state);
    // 10 real `sous` processes, all started at once: 5 on one manifest, 5 on another.
    type SousWrite = { key: string; ok: boolean; out: string };
    const sousWrites: Promise<SousWrite>[] = [];
    for (let p = 0; p < 10; p++) {
      const repo = p < 5 ? 'github.com/opentable/sous' : 'github.com/user/project';
      const key = `sous${p}`;
      sousWrites.push(
        sous(env, ['metadata', 'set', '--cluster', 'cluster-1', key, 'x', '--repo', repo, '--json']).then((r) => ({
          key: `${repo} cluster-1 ${key}`,
          ok: r.code === 0 && r.json?.changed === true,
          out: r.stdout + r.stderr,
        })),
      );
    }
    // 10 node writers: 4 on the same manifest as the first sous group, 6 each on its own (new) manifest.
    const writers: Writer[] = [];
    for (let w = 0; w < 10; w++) {
      const mid = w < 4 ? 'github.com/opentable/sous' : `github.com/writers/w${w}`;
      writers.push(startWriter(env.state, `node${w}`, 3, mid, w % 2 ? 'other-cluster' : 'cluster-1'));
    }
    const sousResults = await Promise.all(sousWrites);
    const writerResults = await Promise.all(writers.map((w) => w.done));

    // Every process succeeded; every acknowledged change is in the final state.
    expect(sousResults.filter((r) => !r.ok)).toEqual([]);
    expect(writerResults.filter((r) => r.code !== 0)).toEqual([]);
    const acked = [...sousResults.map((r) => r.key), ...writers.flatMap((w) => w.acks)];
    expect(acked).toHaveLength(10 + 10 * 3);
    const final = await keysIn(env.state);
    expect(acked.filter((k) => !final.has(k))).toEqual([]);
    // One commit per change, each by its writer.
    expect(commitCount(env.state)).toBe(start + acked.length);
    expect(new Set(git(env.state, 'log', '--format=%ae', `-${acked.length}`).split('\n')).size).toBeGreaterThanOrEqual(11);
    fsck(env.state);
    expect(worktreeClean(env.state)).toBe(true);
  });
});

describe('writers killed mid-write', () => {
  it('never leave half a file or a broken repository, and keep every acknowledged write', async () => {
    const state = makeStateRepo(path.join(dir, 'state'));
    const acked: string[] = [];
    for (let round = 0; round < 6; round++) {
      const ws: Writer[] = [];
      for (let w = 0; w < 6; w++) ws.push(startWriter(state, `r${round}w${w}`, 50, w < 3 ? 'github.com/opentable/sous' : `github.com/crash/w${w}`, 'cluster-1'));
      // Kill each at its own random moment, most of them while writing.
      await Promise.all(
        ws.map(
          (w) =>
            new Promise<void>((resolve) =>
              setTimeout(
                () => {
                  w.kill();
                  resolve();
                },
                150 + Math.floor(Math.random() * 900),
              ),
            ),
        ),
      );
      await Promise.all(ws.map((w) => w.done));
      for (const w of ws) acked.push(...w.acks);
      // The store reopens (clearing what the killed writers left), the repository is sound, and nothing acknowledged is lost.
      const gdm = await Gdm.open(state, { remote: false });
      const s = await gdm.read();
      expect(s.flaws).toEqual([]);
      fsck(state);
      expect(git(state, 'status', '--porcelain', '--untracked-files=no')).toBe('');
      const final = await keysIn(state);
      expect(acked.filter((k) => !final.has(k))).toEqual([]);
      // Every file at HEAD parses: no half-written manifest.
      for (const f of git(state, 'ls-tree', '-r', '--name-only', 'HEAD').split('\n').filter((p) => p.endsWith('.yaml'))) {
        expect(fs.readFileSync(path.join(state, f), 'utf8')).toBe(git(state, 'show', `HEAD:${f}`) + '\n');
      }
    }
    expect(acked.length).toBeGreaterThan(0);
    // A normal write still works afterwards.
    const gdm = await Gdm.open(state, { remote: false });
    const r = await gdm.update((s) => {
      const m = s.manifests.get('github.com/user/project')!.manifest;
      m.Deployments!['cluster-1'].NumInstances = 2;
      return { change: { message: 'after the crashes', setManifests: [m] }, result: null };
    }, { name: 'After', email: 'after@example.com' });
    expect(r.changed).toBe(true);
    expect(worktreeClean(state)).toBe(true);
  });
});
