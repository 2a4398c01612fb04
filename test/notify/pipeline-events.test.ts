import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { verifyWebhookSignature } from '@sous/plugin-notify-webhook';
import { receiver, requireBuilt, SOUS_BIN, tempHome } from './helpers';
import { realArtifact } from '../helpers/server';

const SECRET = 'pipeline-events-secret';

/** What the pipelines announce reaches a webhook receiver: deploys through the real CLI, and a failed build naming the tagger. */
describe('pipeline events through the webhook notifier', () => {
  let rx: Awaited<ReturnType<typeof receiver>>;
  let home: ReturnType<typeof tempHome>;
  // Asynchronous on purpose: the receiver lives in this process and must keep answering while sous runs.
  const sous = (args: string[], cwd?: string) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [SOUS_BIN, ...args], { cwd: cwd ?? home.dir, env: { ...home.env, SOUS_STATE_LOCATION: path.join(home.dir, 'state'), SOUS_USER_NAME: 'Dee Ployer', SOUS_USER_EMAIL: 'dee@example.com' } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d));
      child.stderr.on('data', (d: Buffer) => (stderr += d));
      child.on('close', (status) => resolve({ status, stdout, stderr }));
    });
  const events = () => rx.got.map((g) => JSON.parse(g.body) as { type: string; [k: string]: unknown });

  beforeAll(async () => {
    requireBuilt();
    rx = await receiver();
    home = tempHome(`notifiers:\n  - type: webhook\n    url: http://127.0.0.1:${rx.port}/hook\n    secret: ${SECRET}\n`);
    expect((await sous(['cluster', 'add', '--name', 'mem', '--kind', 'memory'])).status).toBe(0);
    expect((await sous(['init', '--kind', 'http-service', '--repo', 'github.com/acme/shop'])).status).toBe(0);
  });

  afterAll(async () => {
    await rx.close();
    home.cleanup();
  });

  it('announces a requested and a succeeded deploy, signed', async () => {
    const record = await realArtifact('github.com/acme/shop', '2.0.0');
    const file = path.join(home.dir, 'state/artifacts/github.com/acme/shop/2.0.0.yaml');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, Object.entries(record).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join('\n') + '\n');
    execFileSync('git', ['add', '-A'], { cwd: path.join(home.dir, 'state') });
    execFileSync('git', ['-c', 'user.name=T', '-c', 'user.email=t@e', 'commit', '-qm', 'artifact'], { cwd: path.join(home.dir, 'state') });
    const r = await sous(['deploy', '--cluster', 'mem', '--tag', '2.0.0', '--repo', 'github.com/acme/shop']);
    expect(r.status).toBe(0);
    const types = events().map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['deploy.requested', 'deploy.succeeded']));
    const ok = events().find((e) => e.type === 'deploy.succeeded')!;
    expect(ok).toMatchObject({ deploymentID: 'mem:github.com/acme/shop', cluster: 'mem', version: '2.0.0', resolution: 'created' });
    const requested = events().find((e) => e.type === 'deploy.requested')!;
    expect(requested.user).toEqual({ name: 'Dee Ployer', email: 'dee@example.com' });
    for (const g of rx.got) {
      expect(verifyWebhookSignature(g.body, String(g.headers['x-sous-signature']), SECRET, 300)).toMatchObject({ ok: true });
    }
  });

  it('announces a failed build with its phase, naming the tag author', async () => {
    const app = path.join(home.dir, 'nothing-to-build');
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'README'), 'no stack here\n');
    const git = (...a: string[]) => execFileSync('git', a, { cwd: app, env: { ...process.env, GIT_AUTHOR_NAME: 'Tag Pusher', GIT_AUTHOR_EMAIL: 'pusher@example.com', GIT_COMMITTER_NAME: 'Tag Pusher', GIT_COMMITTER_EMAIL: 'pusher@example.com' } });
    git('init', '-q');
    git('add', '-A');
    git('commit', '-qm', 'init');
    git('remote', 'add', 'origin', 'https://github.com/acme/nothing');
    git('tag', '1.0.0');
    const r = await sous(['build', '--tag', '1.0.0'], app);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('NO_STACK');
    const failed = events().find((e) => e.type === 'build.failed');
    expect(failed).toMatchObject({ manifestID: 'github.com/acme/nothing', version: '1.0.0', phase: 'detect', error: { code: 'NO_STACK' }, user: { name: 'Tag Pusher', email: 'pusher@example.com' } });
    expect(events().find((e) => e.type === 'build.started')).toMatchObject({ user: { email: 'pusher@example.com' }, source: { repo: 'github.com/acme/nothing', offset: '' } });
  });
});
