import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Gdm, loadConfig, Sous, type Manifest } from '@sous/core';
import type { ServerContext } from '../context';
import { StateCache } from '../context';
import { autoDeploy, inRange } from './autodeploy';
import type { BuildJob } from './types';

describe('inRange', () => {
  it('takes pre-releases only when the range names one', () => {
    expect(inRange('1.3.0-rc.1', '>=1.2.0-0')).toBe(true);
    expect(inRange('1.2.0-beta.2', '>=1.2.0-0')).toBe(true);
    expect(inRange('1.1.9', '>=1.2.0-0')).toBe(false);
    expect(inRange('1.3.0', '>=1.2.0-0')).toBe(true);
    expect(inRange('1.3.0-rc.1', '^1.2.0')).toBe(false);
    expect(inRange('1.3.0', '^1.2.0')).toBe(true);
    expect(inRange('2.0.0', '^1.2.0')).toBe(false);
    expect(inRange('v1.4.0', '1.x')).toBe(true);
  });
});

describe('autoDeploy', () => {
  it('leaves a deployment a rollback paused, and goes on deploying the others', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sous-autodeploy-'));
    try {
      const user = { name: 'Tester', email: 'tester@example.com' };
      const gdm = await Gdm.open(path.join(dir, 'state'), { remote: false, user });
      const spec = { NumInstances: 1, Version: '1.0.0', AutoDeploy: '^1.0.0' };
      await gdm.update(
        (s) => ({
          change: {
            message: 'setup',
            defs: { ...s.defs, Clusters: { east: { Kind: 'memory', BaseURL: 'memory:', AllowAutoDeploy: true }, west: { Kind: 'memory', BaseURL: 'memory:', AllowAutoDeploy: true } } },
            setManifests: [{ Source: 'github.com/acme/shop', Kind: 'http-service', Deployments: { east: { ...spec, AutoDeployPaused: { Reason: 'rollback of 1.0.1 to 1.0.0', By: 'Alice' } }, west: spec } } as Manifest],
          },
          result: undefined,
        }),
        user,
      );
      const config = await loadConfig({ cwd: dir, env: { XDG_CONFIG_HOME: path.join(dir, 'cfg') }, repoConfig: false });
      const ctx = { gdm, sous: Sous.create(Object.freeze({ ...config, user })), config: { ...config, user }, cache: new StateCache(gdm, 0) } as unknown as ServerContext;
      const job = { id: 'j1', source: 'github.com/acme/shop', version: '1.1.0', author: user } as BuildJob;
      const before = await gdm.store.head();
      const lines: string[] = [];
      const out = await autoDeploy(ctx, job, (l) => lines.push(l));
      const east = out.find((o) => o.cluster === 'east')!;
      expect(east).toMatchObject({ status: 'skipped', message: 'paused: rollback of 1.0.1 to 1.0.0 by Alice (sous autodeploy resume lifts it)' });
      // The other deployment is deployed as usual: here its artifact was never built, so the deploy itself refuses.
      expect(out.find((o) => o.cluster === 'west')).toMatchObject({ status: 'refused', code: 'ARTIFACT_NOT_FOUND' });
      expect(lines[0]).toContain('auto-deploy east:github.com/acme/shop (^1.0.0): skipped: paused');
      expect(await gdm.store.head()).toBe(before);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
