import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { makeSousEnv, requireBuilt, sousSync } from './helpers/sous';
import { api, realArtifact, startServer } from './helpers/server';
import { fsck, git, worktreeClean } from './helpers/state-repo';

describe('sous server shutdown', () => {
  it('finishes the action in flight on SIGTERM, then exits cleanly with nothing half-written', async () => {
    requireBuilt();
    const e = makeSousEnv(fs.mkdtempSync(path.join(os.tmpdir(), 'sous-shutdown-')));
    expect(sousSync(e, ['cluster', 'add', '--name', 'slow', '--kind', 'memory', '--base-url', 'memory:?delay=3000']).code).toBe(0);
    expect(sousSync(e, ['init', '--kind', 'worker', '--repo', 'github.com/acme/slow']).code).toBe(0);
    const srv = await startServer(e, ['--autoresolver', '--resync', '1h']);
    const artifact = await realArtifact('github.com/acme/slow', '1.0.0');
    expect((await api(srv.url, srv.tokens.deploy, 'PUT', '/artifact?repo=github.com/acme/slow&version=1.0.0', { body: artifact, headers: { 'if-none-match': '*' } })).status).toBe(201);
    const put = await api(srv.url, srv.tokens.deploy, 'PUT', '/single-deployment?repo=github.com/acme/slow&cluster=slow', { body: { version: '1.0.0' }, headers: { 'if-match': '*' } });
    expect(put.status).toBe(201);
    // Wait until the pass is running the action, then ask the server to stop.
    for (let i = 0; i < 100; i++) {
      const s = await api(srv.url, srv.tokens.read, 'GET', '/status');
      if (s.body.current?.items?.length) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const code = await srv.stop('SIGTERM');
    expect(code).toBe(0);
    expect(srv.log()).toContain('finishing the actions in flight');
    // The outcome is only recorded when the action completed: it did, after the signal.
    const outcomes = JSON.parse(fs.readFileSync(path.join(e.state, '.git/sous/rectify/slow.json'), 'utf8'));
    expect(outcomes['slow:github.com/acme/slow']).toMatchObject({ status: 'Active', version: '1.0.0' });
    expect(() => fsck(e.state)).not.toThrow();
    expect(worktreeClean(e.state)).toBe(true);
    expect(git(e.state, 'log', '-1', '--format=%s')).toContain('Deploy github.com/acme/slow 1.0.0 to slow');
    expect(fs.readdirSync(path.join(e.state, '.git')).filter((f) => f.endsWith('.lock'))).toEqual([]);
  });
});
