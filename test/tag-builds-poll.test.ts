/**
 * A remote that sends no webhooks: the server polls it (git ls-remote on
 * --poll) and builds what is new since it last looked. Tags already there the
 * first time it looks are not intentions it heard of; what it has seen
 * survives a restart; a tag that is not semver is logged once, not per poll.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeWorld, until, type World } from './helpers/tag-world';

jest.setTimeout(300_000);

const TAGGER = { name: 'Polly Poller', email: 'polly@example.com' };
let w: World;

beforeAll(async () => {
  w = await makeWorld({ name: 'poll', hook: false, clusters: { mem: { Kind: 'memory' } } });
  w.tag('0.9.0');
  w.push('0.9.0');
}, 180_000);

afterAll(async () => {
  if (w) await w.destroy();
});

const watchFile = () => {
  const dir = path.join(w.env.state, '.git', 'sous', 'builds', 'watch');
  return fs.existsSync(dir) ? fs.readdirSync(dir).map((f) => path.join(dir, f))[0] : undefined;
};

/** Resolves after the poller has looked at the repository `n` more times. */
async function polls(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const f = watchFile()!;
    const seen = fs.statSync(f).mtimeMs;
    await until(() => fs.statSync(f).mtimeMs > seen, 30_000, 'a poll');
  }
}

describe('polling a remote without webhooks', () => {
  it('builds a tag pushed after it first looked, and not the ones that were there before', async () => {
    await w.start(['--poll', '1s']);
    await until(() => watchFile(), 30_000, 'the first look');
    expect(w.server!.log()).toMatch(/watching \S+: 1 tag\(s\) already there are not built/);

    const commit = w.tag('1.0.0', TAGGER);
    w.tag('nightly');
    w.push('nightly', '1.0.0');
    const ready = await until(() => w.events.find((e) => e.type === 'artifact.ready' && e.version === '1.0.0'), 180_000, 'artifact.ready');
    expect(ready.user).toEqual(TAGGER);
    const job = await until(async () => (await w.builds('?version=1.0.0')).find((j: { state: string }) => j.state === 'built'), 30_000, 'the job');
    expect(job).toMatchObject({ trigger: 'poll', commit, author: TAGGER, attempts: 1 });
    expect(await w.digestOf('1.0.0')).toBe(job.result.digest);
    expect(await w.builds('?version=0.9.0')).toEqual([]);

    await polls(3);
    expect(w.server!.log().match(/tag nightly of \S+ is not a semver version/g)).toHaveLength(1);
  });

  it('remembers what it saw across a restart', async () => {
    const before = (await w.builds()).map((j: { id: string }) => j.id);
    expect(await w.server!.stop()).toBe(0);
    await w.start(['--poll', '1s']);
    await polls(2);
    expect((await w.builds()).map((j: { id: string }) => j.id)).toEqual(before);
    expect(w.server!.log()).not.toMatch(/tag nightly of/);
  });
});
