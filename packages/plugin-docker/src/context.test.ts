import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tarFs from 'tar-fs';
import type { BuildPlan } from '@sous/core';
import { makeContext } from './context';
import { tempDir } from './testing/engine';

interface Entry {
  name: string;
  type: string;
  uid: number;
  mtime: Date;
  content?: string;
}

/** Unpacks a context and reports every entry as the engine would see it. */
async function unpack(plan: Pick<BuildPlan, 'contextDir' | 'dockerfile' | 'extraFiles' | 'ignore'>, mtime?: Date): Promise<{ dockerfile: string; entries: Map<string, Entry> }> {
  const ctx = await makeContext(plan, { mtime });
  const out = tempDir({}, 'sous-ctx-out-');
  const entries = new Map<string, Entry>();
  try {
    await new Promise<void>((resolve, reject) => {
      const x = tarFs.extract(out, {
        map: (h) => {
          entries.set(h.name.replace(/\/$/, ''), { name: h.name, type: h.type, uid: h.uid, mtime: h.mtime });
          return h;
        },
      });
      x.on('finish', resolve).on('error', reject);
      ctx.stream.on('error', reject).pipe(x);
    });
    for (const e of entries.values()) if (e.type === 'file') e.content = fs.readFileSync(path.join(out, e.name), 'utf8');
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
  return { dockerfile: ctx.dockerfile, entries };
}

const plan = (dir: string, over: Partial<BuildPlan> = {}) => ({ contextDir: dir, dockerfile: 'FROM x\n', extraFiles: {}, ignore: ['.git'], ...over });

describe('the build context', () => {
  const dirs: string[] = [];
  const app = (files: Record<string, string>) => {
    const d = tempDir(files);
    dirs.push(d);
    return d;
  };
  afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it('sends the application’s own Dockerfile as Dockerfile, and leaves out what .dockerignore and plan.ignore exclude', async () => {
    const dir = app({ Dockerfile: 'FROM x\n', '.dockerignore': 'logs\n!logs/keep.log\n*.env\n', 'a.txt': 'a', 'prod.env': 'p', 'logs/x.log': 'x', 'logs/keep.log': 'k', '.git/HEAD': 'ref' });
    const { dockerfile, entries } = await unpack(plan(dir));
    expect(dockerfile).toBe('Dockerfile');
    expect([...entries.keys()].sort()).toEqual(['.dockerignore', 'Dockerfile', 'a.txt', 'logs/keep.log']);
    expect(entries.get('Dockerfile')?.content).toBe('FROM x\n');
  });

  it('sends an application’s Dockerfile even when .dockerignore lists it: the builder must read it', async () => {
    const dir = app({ Dockerfile: 'FROM x\n', '.dockerignore': 'Dockerfile\n' });
    const { entries } = await unpack(plan(dir));
    expect(entries.get('Dockerfile')?.content).toBe('FROM x\n');
  });

  it('puts a stack’s Dockerfile under a name no application file has, and extra files over the application’s', async () => {
    const dir = app({ Dockerfile: 'FROM other\n', '.sous.Dockerfile': 'app file', 'ca.pem': 'old' });
    const { dockerfile, entries } = await unpack(plan(dir, { dockerfile: 'FROM stack\n', extraFiles: { 'ca.pem': 'new', 'certs/extra.pem': 'E' } }));
    expect(dockerfile).toBe('.sous.1.Dockerfile');
    expect(entries.get('.sous.1.Dockerfile')?.content).toBe('FROM stack\n');
    expect(entries.get('.sous.Dockerfile')?.content).toBe('app file');
    expect(entries.get('Dockerfile')?.content).toBe('FROM other\n');
    expect(entries.get('ca.pem')?.content).toBe('new');
    expect(entries.get('certs/extra.pem')?.content).toBe('E');
  });

  it('gives every entry root as owner and, when asked, one modification time', async () => {
    const dir = app({ Dockerfile: 'FROM x\n', 'src/a.js': '1' });
    fs.symlinkSync('a.js', path.join(dir, 'src/link.js'));
    const when = new Date('2026-01-02T03:04:05Z');
    const { entries } = await unpack(plan(dir), when);
    expect(entries.get('src/link.js')?.type).toBe('symlink');
    for (const e of entries.values()) {
      expect(e.uid).toBe(0);
      expect(e.mtime.getTime()).toBe(when.getTime());
    }
  });

  it('sends nothing from the directory for a plan that ignores everything (a re-label)', async () => {
    const dir = app({ 'a.txt': 'a', 'sub/b.txt': 'b' });
    const { dockerfile, entries } = await unpack(plan(dir, { ignore: ['*'] }));
    expect([...entries.keys()]).toEqual([dockerfile]);
  });
});
