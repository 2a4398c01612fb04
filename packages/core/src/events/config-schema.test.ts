import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../config/load';

describe('notifiers in the operator config', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sous-notifiers-cfg-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const load = (yaml: string) => {
    const file = path.join(dir, 'config.yaml');
    fs.writeFileSync(file, yaml);
    return loadConfig({ configFile: file, repoConfig: false, cwd: dir, env: { HOME: dir, XDG_DATA_HOME: dir } });
  };

  it('are read as written', async () => {
    const cfg = await load('notifiers:\n  - type: webhook\n    url: https://hooks.example.com/sous\n    secret: s\n    events: [deploy.*]\n    retry: { attempts: 3 }\n');
    expect(cfg.notifiers).toEqual([{ type: 'webhook', url: 'https://hooks.example.com/sous', secret: 's', events: ['deploy.*'], retry: { attempts: 3 } }]);
  });

  it('need a type, and lists where lists go', async () => {
    await expect(load('notifiers:\n  - url: https://hooks.example.com/sous\n')).rejects.toMatchObject({ code: 'CONFIG_INVALID', field: 'notifiers.0.type', file: path.join(dir, 'config.yaml') });
    await expect(load('notifiers:\n  - type: slack\n    clusters: { prod: true }\n')).rejects.toMatchObject({ code: 'CONFIG_INVALID', field: 'notifiers.0.clusters' });
  });
});
