/**
 * Tag builds when things go wrong, on the real server, engine and
 * registries. The application's cluster has its own registry behind a proxy
 * that can hold every upload: a build held there has pushed and signed its
 * image but not recorded it, which is where the server is killed. A killed
 * build runs again once, after its unrecorded image is removed; a second
 * kill fails it, leaving no image behind. Queued jobs survive restarts, and
 * a tag deleted before its job starts is not built; a remote that does not
 * answer when a job starts is tried again later.
 */
import { Gdm, parseSourceLocation } from '@sous/core';
import { verifyImageSignature } from '@sous/plugin-sign';
import { gitIn } from './helpers/git-remote';
import { makeWorld, until, USER, type World } from './helpers/tag-world';

jest.setTimeout(400_000);

let w: World;

beforeAll(async () => {
  w = await makeWorld({ name: 'faults', clusters: { edge: { Kind: 'memory' } }, heldRegistryIn: 'edge' });
  await w.start();
}, 180_000);

afterAll(async () => {
  if (w) await w.destroy();
});

const record = async (version: string) => (await Gdm.open(w.env.state, { user: USER })).artifact(parseSourceLocation(w.repo), version);
const jobOf = async (version: string) => (await w.builds(`?version=${version}`))[0];
const finished = (version: string) => until(async () => {
  const j = await jobOf(version);
  return j && !['queued', 'running'].includes(j.state) && j;
}, 180_000, `the build of ${version} to finish`);
const sigTag = (digest: string) => digest.replace(':', '-') + '.sig';

/** Pushes a tag and resolves once its build holds at the pre-cache: pushed and signed, not recorded. */
async function pushAndHold(tag: string): Promise<string> {
  w.proxy!.holding = true;
  const held = w.proxy!.nextHeld();
  w.commit('www/index.html', `hello ${tag}\n`);
  w.tag(tag);
  w.push('main', tag);
  await held;
  const half = await w.digestOf(tag);
  expect(half).toMatch(/^sha256:/);
  expect(await record(tag)).toBeUndefined();
  return half!;
}

describe('a server killed mid-build', () => {
  it('runs the build again once, after removing what the killed attempt pushed', async () => {
    const half = await pushAndHold('1.0.0');
    expect(await jobOf('1.0.0')).toMatchObject({ state: 'running', phase: { name: 'precache' }, pushed: { digest: half } });
    await w.server!.stop('SIGKILL');
    // What the killed attempt left: an image and its signature, which no record names.
    expect(await w.digestOf(sigTag(half))).not.toBeNull();

    w.proxy!.release();
    await w.start();
    const job = await finished('1.0.0');
    expect(job).toMatchObject({ state: 'built', attempts: 2, interruptions: 1 });
    expect(job.removed).toContain(`${w.eng.registry}/${w.imageRepo}@${half}`);

    const rec = await record('1.0.0');
    expect(rec?.Digest).toBe(job.result.digest);
    expect(await w.digestOf('1.0.0')).toBe(rec!.Digest);
    expect(await w.digestOf('1.0.0', w.clusterRegistry!.addr)).toBe(rec!.Digest);
    const sig = await verifyImageSignature({ image: `${w.eng.registry}/${w.imageRepo}@${rec!.Digest}`, keys: [w.keys.publicKey] });
    expect(sig.signatures.map((s) => s.keyId)).toEqual([w.keys.keyId]);
    if (half !== rec!.Digest) {
      expect(await w.hasManifest(half)).toBe(false);
      expect(await w.digestOf(sigTag(half))).toBeNull();
    }
    const ready = await until(() => w.events.filter((e) => e.type === 'artifact.ready' && e.version === '1.0.0').length > 0 && w.events, 30_000, 'artifact.ready');
    expect(ready.filter((e) => e.type === 'artifact.ready' && e.version === '1.0.0')).toHaveLength(1);
    expect(ready.filter((e) => e.type === 'build.started' && e.version === '1.0.0')).toHaveLength(2);
    const log = await fetch(`${w.server!.url}/builds/${job.id}/log`, { headers: { authorization: `Bearer ${w.server!.tokens.read}` } }).then((r) => r.text());
    expect(log).toMatch(/interrupted: the server stopped during attempt 1 \(in precache\)/);
    expect(log).toMatch(/attempt 2: /);
  });

  it('fails the build when killed a second time, leaving no image, and resumes the jobs queued behind it', async () => {
    const half1 = await pushAndHold('2.0.0');
    // Queued behind the held build, through both restarts.
    w.tag('2.1.0');
    w.push('2.1.0');
    expect(await jobOf('2.1.0')).toMatchObject({ state: 'queued' });
    await w.server!.stop('SIGKILL');

    const held = w.proxy!.nextHeld();
    await w.start();
    await held;
    const half2 = await w.digestOf('2.0.0');
    expect(half2).toMatch(/^sha256:/);
    if (half2 !== half1) expect(await w.hasManifest(half1)).toBe(false);
    expect(await jobOf('2.0.0')).toMatchObject({ state: 'running', attempts: 2, interruptions: 1 });
    await w.server!.stop('SIGKILL');

    w.proxy!.release();
    await w.start();
    const failed = await finished('2.0.0');
    expect(failed).toMatchObject({ state: 'failed', attempts: 2, interruptions: 2, error: { code: 'BUILD_INTERRUPTED' } });
    expect(await w.digestOf('2.0.0')).toBeNull();
    for (const d of [half1, half2!]) {
      expect(await w.hasManifest(d)).toBe(false);
      expect(await w.digestOf(sigTag(d))).toBeNull();
    }
    expect(await record('2.0.0')).toBeUndefined();
    await until(() => w.events.find((e) => e.type === 'build.failed' && e.version === '2.0.0'), 30_000, 'build.failed');
    expect(w.events.find((e) => e.type === 'build.failed' && e.version === '2.0.0')).toMatchObject({ error: { code: 'BUILD_INTERRUPTED' } });

    const next = await finished('2.1.0');
    expect(next).toMatchObject({ state: 'built', attempts: 1, interruptions: 0 });
    expect((await record('2.1.0'))?.Digest).toBe(next.result.digest);
  });
});

describe('a tag deleted before its build starts', () => {
  it('is not built, whether the deletion was announced or not', async () => {
    await pushAndHold('3.0.0');
    const bare = `${w.remote.base}/shop.git`;
    w.tag('3.0.1');
    w.push('3.0.1');
    w.tag('3.0.2');
    w.push('3.0.2');
    expect((await jobOf('3.0.1')).state).toBe('queued');
    // 3.0.1 goes without a word (as on a host that sends no webhooks); 3.0.2's deletion is announced.
    gitIn(bare, 'update-ref', '-d', 'refs/tags/3.0.1');
    w.push('--delete', '3.0.2');
    expect(await jobOf('3.0.2')).toMatchObject({ state: 'cancelled', reason: 'the tag 3.0.2 was deleted' });

    w.proxy!.release();
    expect(await finished('3.0.0')).toMatchObject({ state: 'built' });
    expect(await finished('3.0.1')).toMatchObject({ state: 'cancelled', reason: 'the tag 3.0.1 was deleted before the build started', attempts: 0 });
    for (const v of ['3.0.1', '3.0.2']) {
      expect(w.events.filter((e) => e.version === v)).toEqual([]);
      expect(await record(v)).toBeUndefined();
      expect(await w.digestOf(v)).toBeNull();
    }
  });
});

describe('a remote that cannot be reached when the job starts', () => {
  it('is tried again later, and the tag is built once it answers', async () => {
    await pushAndHold('4.0.0');
    w.tag('4.0.1');
    w.push('4.0.1');
    await w.remote.stop();
    w.proxy!.release();
    expect(await finished('4.0.0')).toMatchObject({ state: 'built' });
    const waiting = await until(async () => {
      const j = await jobOf('4.0.1');
      return j.fetchFailures === 1 && j;
    }, 60_000, 'a failed fetch');
    expect(waiting).toMatchObject({ state: 'queued', attempts: 0, notBefore: expect.any(String) });
    await w.remote.restart();
    const built = await finished('4.0.1');
    expect(built).toMatchObject({ state: 'built', attempts: 1, fetchFailures: 0 });
    expect((await record('4.0.1'))?.Digest).toBe(built.result.digest);
  });
});
