import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { JobStore } from './store';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'sous-jobs-'));

describe('JobStore claims', () => {
  it('lets one process hold a job, and takes over the claim of a process that is gone', () => {
    const dir = tmp();
    const a = new JobStore(dir);
    const b = new JobStore(dir);
    expect(a.claim('j1')).toBe(true);
    // Another instance in a live process (here: the same pid, another instance) may not take it...
    expect(b.holderAlive('j1')).toBe(false);
    // ...unless the holder's pid is gone: a claim written by a process that exited.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    fs.writeFileSync(path.join(dir, 'claims', 'j2.json'), JSON.stringify({ pid: Number(dead), instance: 'gone', at: new Date().toISOString() }));
    expect(a.holderAlive('j2')).toBe(false);
    expect(a.claim('j2')).toBe(true);
    expect(a.heldByMe('j2')).toBe(true);
    // A claim by a live other process (this test's parent) is respected.
    fs.writeFileSync(path.join(dir, 'claims', 'j3.json'), JSON.stringify({ pid: process.ppid, instance: 'parent', at: new Date().toISOString() }));
    expect(a.claim('j3')).toBe(false);
    a.release('j1');
    expect(b.claim('j1')).toBe(true);
  });

  it('keeps jobs as files that a new store reads back, and prunes the oldest finished ones', () => {
    const dir = tmp();
    const s = new JobStore(dir);
    const base = { repo: 'github.com/acme/shop', offset: '', source: 'github.com/acme/shop', tag: '1.0.0', version: '1.0.0', commit: 'c'.repeat(40), trigger: 'poll' as const, createdAt: '', updatedAt: '', attempts: 0, interruptions: 0 };
    const ids = [0, 1, 2, 3].map(() => s.newId());
    ids.forEach((id, i) => s.save({ ...base, id, state: i === 3 ? 'queued' : 'built' }));
    s.log(ids[0], 'hello');
    const t = new JobStore(dir);
    t.load();
    expect(t.list().map((j) => j.id)).toEqual([...ids].reverse());
    expect(t.readLog(ids[0]).text).toMatch(/ hello\n$/);
    t.prune(1);
    expect(t.list().map((j) => j.id).sort()).toEqual([ids[2], ids[3]].sort());
    expect(fs.existsSync(t.logFile(ids[0]))).toBe(false);
  });
});
