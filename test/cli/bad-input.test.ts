/**
 * The bad-input corpus: every folder under test/fixtures/bad-input/ is one
 * case, described by its case.json. Each runs through the real binary with
 * --json and must give its stable error code, the exit code, a message naming
 * what it names, at least one hint, and leave the GDM exactly as it was.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FIXTURES, commitCount, git, head, makeStateRepo, tempDir, worktreeClean } from '../helpers/state-repo';
import { makeSousEnv, requireBuilt, sous } from '../helpers/sous';

interface BadInputCase {
  description: string;
  /** Arguments after `sous`; --json is added. */
  args: string[];
  stdin?: string;
  /** Files to create: `config/...` under XDG_CONFIG_HOME, `state/...` committed into the state first, anything else in the working directory. */
  files?: Record<string, string>;
  env?: Record<string, string>;
  /** Make the working directory a git repository (origin github.com/acme/shop) with one commit. */
  gitRepo?: boolean;
  /** Tags on that commit. */
  tags?: string[];
  code: string;
  exit: number;
  /** Text the message must contain: the file and the field, when there are. */
  messageIncludes?: string[];
  /** Text the whole printed output must contain (the JSON document's details, say). */
  outputIncludes?: string[];
  /**
   * A modelled Kubernetes API server to run for the case (the options of
   * test/helpers/kube-api-server.js, plus `objects`: {plural: [object]} put in
   * first): `{{kubeURL}}` in args, files and env is its URL.
   */
  kubeApiServer?: Record<string, unknown> & { objects?: Record<string, Record<string, unknown>[]> };
}

const CORPUS = path.join(FIXTURES, 'bad-input');
const cases = fs
  .readdirSync(CORPUS)
  .filter((d) => fs.existsSync(path.join(CORPUS, d, 'case.json')))
  .sort()
  .map((name) => [name, JSON.parse(fs.readFileSync(path.join(CORPUS, name, 'case.json'), 'utf8')) as BadInputCase] as const);

const dirs: string[] = [];
beforeAll(() => requireBuilt());
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function put(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

describe('the bad-input corpus', () => {
  it('has at least 40 cases, each with a code and a non-zero exit', () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
    for (const [name, c] of cases) {
      expect([name, c.code]).toEqual([name, expect.stringMatching(/^[A-Z][A-Z0-9_]+$/)]);
      expect([name, c.exit]).toEqual([name, expect.any(Number)]);
      expect(c.exit).not.toBe(0);
      expect(Array.isArray(c.args)).toBe(true);
    }
  });

  it.concurrent.each(cases)('%s', async (_name, c) => {
    const dir = tempDir('sous-bad-');
    dirs.push(dir);
    const api = c.kubeApiServer ? await modelledKube(c.kubeApiServer) : undefined;
    try {
      await runCase(dir, api ? withURL(c, api.url) : c);
    } finally {
      await api?.close();
    }
  });
});

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { KubeApiServer } = require('../helpers/kube-api-server.js');

/* eslint-disable @typescript-eslint/no-explicit-any */
async function modelledKube(opts: NonNullable<BadInputCase['kubeApiServer']>): Promise<any> {
  const { objects, ...rest } = opts;
  const api = new KubeApiServer(rest);
  for (const [plural, list] of Object.entries(objects ?? {})) for (const o of list) api.put(plural, o);
  return api.start();
}

/** The case with the modelled API server's URL put in for {{kubeURL}}. */
function withURL(c: BadInputCase, url: string): BadInputCase {
  const sub = (t: string) => t.split('{{kubeURL}}').join(url);
  const map = (o: Record<string, string> | undefined) => (o ? Object.fromEntries(Object.entries(o).map(([k, v]) => [k, sub(v)])) : o);
  return { ...c, args: c.args.map(sub), files: map(c.files), env: map(c.env) };
}

/** Runs one case through the real binary and checks what it printed and that the GDM did not move. */
async function runCase(dir: string, c: BadInputCase): Promise<void> {
  const env = makeSousEnv(dir);
  makeStateRepo(env.state);
  const cwd = path.join(dir, 'work');
  fs.mkdirSync(cwd, { recursive: true });
  let stateChanged = false;
  for (const [p, text] of Object.entries(c.files ?? {})) {
    if (p.startsWith('config/')) put(path.join(env.config, p.slice('config/'.length)), text);
    else if (p.startsWith('state/')) {
      put(path.join(env.state, p.slice('state/'.length)), text);
      stateChanged = true;
    } else put(path.join(cwd, p), text);
  }
  if (stateChanged) {
    git(env.state, 'add', '-A');
    git(env.state, 'commit', '-q', '-m', 'A broken state, as the case needs');
  }
  if (c.gitRepo) {
    git(cwd, 'init', '-q', '-b', 'main');
    git(cwd, 'remote', 'add', 'origin', 'https://github.com/acme/shop.git');
    git(cwd, 'add', '-A');
    git(cwd, 'commit', '-q', '--allow-empty', '-m', 'app');
    for (const t of c.tags ?? []) git(cwd, 'tag', t);
  }
  const before = head(env.state);
  const commits = commitCount(env.state);

  const r = await sous(env, [...c.args, '--json'], { cwd, stdin: c.stdin, env: c.env });
  const got = { exit: r.code, code: r.json?.error?.code };
  expect({ got, stdout: r.stdout, stderr: r.stderr }).toMatchObject({ got: { exit: c.exit, code: c.code } });
  const err = r.json.error as { message: string; hints?: string[]; exit: number };
  expect(err.exit).toBe(c.exit);
  expect(err.hints?.length ?? 0).toBeGreaterThan(0);
  for (const h of err.hints ?? []) expect(h.trim().length).toBeGreaterThan(0);
  for (const s of c.messageIncludes ?? []) expect(err.message).toContain(s);
  for (const s of c.outputIncludes ?? []) expect(r.stdout + r.stderr).toContain(s);
  // No stack trace without --debug.
  expect(r.stdout + r.stderr).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/);
  // The GDM did not move, and nothing was left in its working tree.
  expect(head(env.state)).toBe(before);
  expect(commitCount(env.state)).toBe(commits);
  expect(worktreeClean(env.state)).toBe(true);
}
