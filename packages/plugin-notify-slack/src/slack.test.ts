import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { Sous, emitEvent, flushNotifications, coreNotifyPlugins, createLogger, type ResolvedConfig } from '@sous/core';
import { PassThrough } from 'node:stream';
import { slackNotifier, type SlackMessage } from './index';

/**
 * Stands in for Slack's incoming webhook: 200 "ok" for a valid message,
 * 400 invalid_payload / no_text like Slack, or the scripted failures.
 */
async function fakeSlack(script: (number | 'ok')[] = ['ok']) {
  const got: SlackMessage[] = [];
  let n = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const step = script[Math.min(n++, script.length - 1)];
      if (step !== 'ok') return void res.writeHead(step).end(step === 404 ? 'no_service' : 'rollup_error');
      let msg: SlackMessage;
      try {
        msg = JSON.parse(Buffer.concat(chunks).toString()) as SlackMessage;
      } catch {
        return void res.writeHead(400).end('invalid_payload');
      }
      if (!msg.text) return void res.writeHead(400).end('no_text');
      const blocks = msg.attachments?.flatMap((a) => a.blocks) ?? [];
      if (blocks.some((b) => b.type === 'section' && ((b.fields?.length ?? 0) > 10 || b.fields?.some((f) => f.text.length > 2000)))) return void res.writeHead(400).end('invalid_blocks');
      got.push(msg);
      res.writeHead(200, { 'Content-Type': 'text/html' }).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/services/T0001/B0002/SecretTokenXYZ123`;
  return { url, got, requests: () => n, close: () => new Promise<void>((r) => server.close(() => r())) };
}

let tmp: string;
beforeEach(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sous-slack-'))));
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

function makeSous(notifiers: Record<string, unknown>[]) {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString()));
  const config = { warnings: [], notifiers, user: { name: 'Alice', email: 'alice@example.com' }, origins: { notifiers: 'user' }, files: { user: '/etc/sous/config.yaml' } } as unknown as ResolvedConfig;
  const sous = new Sous(config, { logger: createLogger({ stream: out, level: 'debug', json: true }) }).use(
    ...coreNotifyPlugins(),
    slackNotifier({ outboxDir: tmp, retry: { minDelayMs: 20, maxDelayMs: 40 } }),
  );
  return { sous, logs: () => text };
}

const fields = (m: SlackMessage) => {
  const section = m.attachments[0].blocks[0];
  return section.type === 'section' ? Object.fromEntries((section.fields ?? []).map((f) => f.text.split('\n') as [string, string])) : {};
};

describe('slack notifier', () => {
  it('posts a deploy as a green message with deployment, version, user and link', async () => {
    const slack = await fakeSlack();
    try {
      const { sous } = makeSous([{ type: 'slack', url: slack.url, channel: '#deploys', iconEmoji: ':rocket:' }]);
      sous.validateConfig();
      await emitEvent(sous, {
        type: 'deploy.succeeded',
        manifestID: 'github.com/acme/shop',
        cluster: 'prod',
        version: '1.2.3',
        previousVersion: '1.2.2',
        links: { status: 'https://sous.example.com/deployments/prod:github.com/acme/shop' },
      });
      await flushNotifications(sous, { timeoutMs: 5000 });
      expect(slack.got).toHaveLength(1);
      const [m] = slack.got;
      expect(m.text).toBe('✅ Deployed: github.com/acme/shop 1.2.3 → prod (Alice)');
      expect(m.channel).toBe('#deploys');
      expect(m.icon_emoji).toBe(':rocket:');
      expect(m.attachments[0].color).toBe('#2eb67d');
      expect(fields(m)).toEqual({
        '*Deployment*': 'prod:github.com/acme/shop',
        '*Version*': '1.2.3',
        '*Cluster*': 'prod',
        '*User*': 'Alice &lt;alice@example.com&gt;',
        '*Previous version*': '1.2.2',
      });
      const context = m.attachments[0].blocks[1];
      expect(context.type === 'context' && context.elements[0].text).toBe('<https://sous.example.com/deployments/prod:github.com/acme/shop|status>');
    } finally {
      await slack.close();
    }
  });

  it('posts a failed build in red with the phase and the error', async () => {
    const slack = await fakeSlack();
    try {
      const { sous } = makeSous([{ type: 'slack', url: slack.url, events: ['build.failed', 'contract.failed'] }]);
      await emitEvent(sous, {
        type: 'build.failed',
        manifestID: 'github.com/acme/shop',
        version: '1.3.0',
        source: { repo: 'github.com/acme/shop', offset: '', revision: 'abc', tag: 'v1.3.0' },
        phase: 'build',
        error: { code: 'BUILD_STEP_FAILED', message: 'RUN npm ci: exit code 1 <stderr>' },
        user: { name: 'Bob', email: 'bob@example.com' },
      });
      await emitEvent(sous, { type: 'deploy.succeeded', manifestID: 'github.com/acme/shop', cluster: 'prod', version: '1.2.3' });
      await flushNotifications(sous, { timeoutMs: 5000 });
      expect(slack.got).toHaveLength(1);
      const [m] = slack.got;
      expect(m.text).toBe('❌ Build failed: github.com/acme/shop 1.3.0 (build) (Bob)');
      expect(m.attachments[0].color).toBe('#e01e5a');
      expect(fields(m)['*Error*']).toBe('RUN npm ci: exit code 1 &lt;stderr&gt; [BUILD_STEP_FAILED]');
    } finally {
      await slack.close();
    }
  });

  it('retries when Slack answers 500, gives up on 404 no_service, and never logs the webhook URL', async () => {
    const flaky = await fakeSlack([500, 'ok']);
    const gone = await fakeSlack([404]);
    try {
      const { sous, logs } = makeSous([
        { type: 'slack', url: flaky.url },
        { type: 'slack', url: gone.url },
      ]);
      await emitEvent(sous, { type: 'deploy.succeeded', manifestID: 'github.com/acme/shop', cluster: 'prod', version: '1.2.3' });
      await flushNotifications(sous, { timeoutMs: 5000 });
      expect(flaky.requests()).toBe(2);
      expect(flaky.got).toHaveLength(1);
      expect(gone.requests()).toBe(1);
      const lines = logs().trim().split('\n').map((l) => JSON.parse(l) as { level: string; msg: string });
      expect(lines.filter((l) => l.level === 'error').map((l) => l.msg)).toEqual([expect.stringMatching(/^gave up delivering deploy.succeeded after 1 attempt: 127\.0\.0\.1:\d+ answered 404: no_service$/)]);
      expect(logs()).not.toContain('SecretTokenXYZ123');
    } finally {
      await flaky.close();
      await gone.close();
    }
  });

  it('refuses a bad URL and a bad emoji at config time', () => {
    expect(() => makeSous([{ type: 'slack', url: 'hooks.slack.com/services/x' }]).sous.validateConfig()).toThrow(
      '/etc/sous/config.yaml: notifiers[0] (slack): url "hooks.slack.com/services/x" is not a valid https or http URL',
    );
    expect(() => makeSous([{ type: 'slack', url: 'https://hooks.slack.com/services/x', iconEmoji: 'rocket' }]).sous.validateConfig()).toThrow('iconEmoji must look like :rocket:');
    expect(() => makeSous([{ type: 'slack' }]).sous.validateConfig()).toThrow('notifiers[0] (slack): url is required');
  });
});
