import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Gdm } from '../gdm/state';
import { loadConfig } from '../config/load';
import { Sous } from '../hooks/sous';
import { MemorySchedulerPlugin } from './memory-scheduler';
import { Rectifier } from './rectifier';
import { RectifyLoop, watchStateRefs } from './loop';

const user = { name: 'Tester', email: 'tester@example.com' };

async function world() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sous-loop-'));
  const gdm = await Gdm.open(path.join(dir, 'state'), { user });
  await gdm.update((s) => ({ change: { message: 'cluster', defs: { ...s.defs, Clusters: { mem: { Name: 'mem', Kind: 'memory', BaseURL: '', Env: {}, AllowedAdvisories: [] } } } }, result: undefined }), user);
  const sous = Sous.create(await loadConfig({ cwd: dir, env: { XDG_CONFIG_HOME: path.join(dir, 'cfg') }, repoConfig: false }));
  const mem = sous.plugins.find((p): p is MemorySchedulerPlugin => p instanceof MemorySchedulerPlugin)!;
  const deploy = (version: string) =>
    gdm.update(() => ({ change: { message: version, setManifests: [{ Source: 'github.com/acme/shop', Owners: [], Kind: 'http-service', Deployments: { mem: { Resources: { cpus: '0.1', memory: '100', ports: '1' }, NumInstances: 1, Volumes: [], Version: version } } }] }, result: undefined }), user);
  const running = () => mem.schedulers.get('mem')?.deployments.get('mem:github.com/acme/shop')?.spec.Version;
  return { gdm, rectifier: new Rectifier(sous, gdm, path.join(dir, 'status')), deploy, running };
}

async function until(what: string, cond: () => boolean): Promise<void> {
  const end = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('RectifyLoop', () => {
  it('runs its passes without any result callback', async () => {
    const w = await world();
    await w.deploy('1.0.0');
    const loop = RectifyLoop.of(w.rectifier, { filters: {}, resyncMs: 0 });
    loop.start();
    await loop.idle();
    await loop.stop();
    expect(w.running()).toBe('1.0.0');
  });

  it('sees every commit to the state, one after another', async () => {
    const w = await world();
    const loop = RectifyLoop.of(w.rectifier, { filters: {}, resyncMs: 0 });
    const watcher = await watchStateRefs(w.gdm.location, () => loop.trigger('gdm change'));
    loop.start();
    try {
      for (let i = 0; i < 12; i++) {
        await w.deploy(`1.0.${i}`);
        await until(`1.0.${i} to run`, () => w.running() === `1.0.${i}`);
      }
    } finally {
      await watcher.close();
      await loop.stop();
    }
    expect(w.running()).toBe('1.0.11');
  });
});
