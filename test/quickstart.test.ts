import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ROOT, requireBuilt } from './helpers/sous';

/** The README's first command, run as a user would (twice: the second run reuses what is there). */
describe('npm run quickstart', () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'sous-quickstart-'));
  const env = { ...process.env, SOUS_QUICKSTART_HOME: home, NO_COLOR: '1' };
  for (const k of Object.keys(env)) if (/^(SOUS_(?!QUICKSTART)|XDG_)/.test(k)) delete env[k];

  afterAll(() => {
    // Take the deployment down the way a user would: scale it to nothing and rectify.
    if (!fs.existsSync(path.join(home, 'state/defs.yaml'))) return;
    const sousEnv = { ...env, SOUS_STATE_LOCATION: path.join(home, 'state'), SOUS_CONFIG: path.join(home, 'config.yaml'), XDG_DATA_HOME: path.join(home, 'data') };
    const sous = (...args: string[]) => spawnSync(process.execPath, [path.join(ROOT, 'packages/cli/bin/run.js'), ...args], { env: sousEnv, encoding: 'utf8' });
    sous('scale', '--cluster', 'local', '--instances', '0', '--repo', 'github.com/sous-examples/hello-node');
    sous('rectify', '--cluster', 'local');
  });

  it('builds hello-node at a tag, deploys it, and prints the URL that answers with that version', async () => {
    requireBuilt();
    const first = spawnSync('npm', ['run', '-s', 'quickstart'], { cwd: ROOT, env, encoding: 'utf8', timeout: 600_000 });
    expect(first.status).toBe(0);
    const m = /hello-node 1\.0\.0 is live at (http:\/\/\S+)/.exec(first.stdout);
    expect(m).not.toBeNull();
    const res = await fetch(m![1]);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ name: 'hello-node', version: '1.0.0' });
    const second = spawnSync('npm', ['run', '-s', 'quickstart'], { cwd: ROOT, env, encoding: 'utf8', timeout: 600_000 });
    expect(second.status).toBe(0);
    expect(second.stdout).toContain('was already built');
    expect(second.stdout).toContain('cluster local is defined');
    expect(second.stdout).toContain(`is live at ${m![1]}`);
  });
});
