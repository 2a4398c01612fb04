import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { Sous, emitEvent, flushNotifications, coreNotifyPlugins, isSousError, type Logger, type ResolvedConfig, type SousError } from '@sous/core';
import { webhookNotifier, readDeliveryLog, verifyWebhookSignature } from './index';

const SECRET = 'whsec-test-0123456789';

interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A receiver on 127.0.0.1: answers each request with the next status in `script` (the last one repeats); 'hang' never answers. */
async function receiver(script: (number | 'hang')[]) {
  const got: Received[] = [];
  const hanging: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ headers: req.headers, body: Buffer.concat(chunks).toString() });
      const step = script[Math.min(got.length - 1, script.length - 1)];
      if (step === 'hang') return void hanging.push(res);
      res.writeHead(step, { 'Content-Type': 'text/plain' }).end(step >= 400 ? 'receiver says no' : 'ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/sous`;
  return {
    url,
    got,
    close: () =>
      new Promise<void>((r) => {
        for (const h of hanging) h.destroy();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

function recordingLogger() {
  const lines: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
  const at = (level: string) => (msg: string, fields?: Record<string, unknown>) => void lines.push({ level, msg, fields });
  const l: Logger = { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => l };
  return Object.assign(l, { lines });
}

let tmp: string;
beforeEach(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sous-webhook-'))));
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

function makeSous(notifiers: Record<string, unknown>[], env: Record<string, string> = {}) {
  const config = {
    warnings: [],
    notifiers,
    user: { name: 'Alice', email: 'alice@example.com' },
    origins: { notifiers: 'user' },
    files: { user: '/etc/sous/config.yaml' },
  } as unknown as ResolvedConfig;
  const logger = recordingLogger();
  const plugin = webhookNotifier({ outboxDir: tmp, env, retry: { minDelayMs: 20, maxDelayMs: 50 } });
  const sous = new Sous(config, { logger }).use(...coreNotifyPlugins(), plugin);
  return { sous, plugin, logger };
}

const deployed = { type: 'deploy.succeeded' as const, manifestID: 'github.com/acme/shop', cluster: 'prod', version: '1.2.3', links: { status: 'https://sous.example.com/deployments/prod:github.com/acme/shop' } };

describe('webhook notifier', () => {
  it('POSTs the event as JSON, signed, with event and delivery ids', async () => {
    const r = await receiver([200]);
    try {
      const { sous, plugin } = makeSous([{ type: 'webhook', url: r.url, secret: SECRET, events: ['deploy.*'], headers: { 'X-Api-Key': 'receiver-key-1' } }]);
      sous.validateConfig();
      const event = await emitEvent(sous, deployed);
      await emitEvent(sous, { type: 'build.started', manifestID: 'github.com/acme/shop', version: '1.2.4', source: { repo: 'github.com/acme/shop', offset: '', revision: 'abc' } });
      expect(await flushNotifications(sous, { timeoutMs: 5000 })).toBe(0);
      expect(r.got).toHaveLength(1);
      const [{ headers, body }] = r.got;
      expect(JSON.parse(body)).toEqual(event);
      expect(headers['content-type']).toBe('application/json');
      expect(headers['x-sous-event']).toBe('deploy.succeeded');
      expect(headers['x-sous-event-id']).toBe(event.id);
      expect(headers['x-sous-delivery']).toMatch(/^[0-9a-f]{32}$/);
      expect(headers['x-sous-attempt']).toBe('1');
      expect(headers['x-api-key']).toBe('receiver-key-1');
      expect(headers['user-agent']).toMatch(/^sous-webhook\/\d+\.\d+\.\d+/);
      expect(verifyWebhookSignature(body, headers['x-sous-signature'], SECRET, 300)).toMatchObject({ ok: true });
      const log = await plugin.deliveryLog();
      expect(log).toEqual([expect.objectContaining({ ok: true, status: 200, attempt: 1, eventType: 'deploy.succeeded', delivery: headers['x-sous-delivery'] })]);
      expect(typeof log[0].durationMs).toBe('number');
    } finally {
      await r.close();
    }
  });

  it('retries a receiver that answers 500, with the same delivery id, and keeps a delivery log on disk', async () => {
    const r = await receiver([500, 503, 200]);
    try {
      const { sous, logger } = makeSous([{ type: 'webhook', url: r.url, secret: SECRET }]);
      await emitEvent(sous, deployed);
      await flushNotifications(sous, { timeoutMs: 5000 });
      expect(r.got.map((g) => g.headers['x-sous-attempt'])).toEqual(['1', '2', '3']);
      expect(new Set(r.got.map((g) => g.headers['x-sous-delivery'])).size).toBe(1);
      for (const g of r.got) expect(verifyWebhookSignature(g.body, g.headers['x-sous-signature'], SECRET).ok).toBe(true);
      expect(logger.lines.filter((l) => l.level === 'warn').map((l) => l.fields?.status)).toEqual([500, 503]);
      const log = await readDeliveryLog(tmp);
      expect(log.map((a) => [a.attempt, a.ok, a.status, a.error ?? null])).toEqual([
        [1, false, 500, expect.stringMatching(/^127\.0\.0\.1:\d+ answered 500: receiver says no$/)],
        [2, false, 503, expect.stringMatching(/answered 503/)],
        [3, true, 200, null],
      ]);
      expect(log[0].url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    } finally {
      await r.close();
    }
  });

  it('gives up on a receiver that never answers: retries, then a logged failure; emit still succeeds', async () => {
    const r = await receiver(['hang']);
    try {
      const { sous, logger } = makeSous([{ type: 'webhook', url: r.url, secret: SECRET, timeoutMs: 200, retry: { attempts: 2 } }]);
      await expect(emitEvent(sous, deployed)).resolves.toBeDefined();
      await flushNotifications(sous, { timeoutMs: 10_000 });
      expect(r.got).toHaveLength(2);
      const err = logger.lines.filter((l) => l.level === 'error');
      expect(err.map((l) => l.msg)).toEqual([expect.stringMatching(/^gave up delivering deploy.succeeded after 2 attempts: 127\.0\.0\.1:\d+ did not answer within 200 ms$/)]);
      const log = await readDeliveryLog(tmp);
      expect(log.map((a) => [a.ok, a.final])).toEqual([
        [false, false],
        [false, true],
      ]);
    } finally {
      await r.close();
    }
  });

  it('does not retry a receiver that refuses (4xx)', async () => {
    const r = await receiver([401]);
    try {
      const { sous, logger } = makeSous([{ type: 'webhook', url: r.url, secret: SECRET }]);
      await emitEvent(sous, deployed);
      await flushNotifications(sous, { timeoutMs: 5000 });
      expect(r.got).toHaveLength(1);
      expect(logger.lines.find((l) => l.level === 'error')?.fields).toMatchObject({ status: 401, permanent: true });
    } finally {
      await r.close();
    }
  });

  it('sends credentials in the URL as Basic auth', async () => {
    const r = await receiver([200]);
    try {
      const { sous } = makeSous([{ type: 'webhook', url: r.url.replace('http://', 'http://hook%20user:p%40ss@'), secret: SECRET }]);
      await emitEvent(sous, deployed);
      await flushNotifications(sous, { timeoutMs: 5000 });
      expect(r.got.map((g) => g.headers.authorization)).toEqual([`Basic ${Buffer.from('hook user:p@ss').toString('base64')}`]);
    } finally {
      await r.close();
    }
  });

  it('reads the secret from the environment variable secretEnv names', async () => {
    const r = await receiver([200]);
    try {
      const { sous } = makeSous([{ type: 'webhook', url: r.url, secretEnv: 'ACME_HOOK_SECRET' }], { ACME_HOOK_SECRET: 'from-the-env-123' });
      sous.validateConfig();
      await emitEvent(sous, deployed);
      await flushNotifications(sous, { timeoutMs: 5000 });
      expect(verifyWebhookSignature(r.got[0].body, r.got[0].headers['x-sous-signature'], 'from-the-env-123').ok).toBe(true);
    } finally {
      await r.close();
    }
  });
});

describe('webhook config checks', () => {
  function firstError(notifiers: Record<string, unknown>[], env: Record<string, string> = {}): SousError {
    const { sous } = makeSous(notifiers, env);
    try {
      sous.validateConfig();
    } catch (e) {
      expect(isSousError(e)).toBe(true);
      return e as SousError;
    }
    throw new Error('expected a config error');
  }

  it('rejects a bad URL, naming file and field, without the password', () => {
    const e = firstError([{ type: 'webhook', url: 'htps://user:hunter22@hooks.example.com/x', secret: SECRET }]);
    expect(e).toMatchObject({ code: 'NOTIFIER_INVALID_URL', file: '/etc/sous/config.yaml', field: 'notifiers.0.url', exit: 2 });
    expect(e.message).toBe('/etc/sous/config.yaml: notifiers[0] (webhook): url "htps://user:***@hooks.example.com/x" is not a valid https or http URL');
    expect(firstError([{ type: 'webhook', url: 'not a url', secret: SECRET }]).code).toBe('NOTIFIER_INVALID_URL');
  });

  it('rejects unknown event names with a did-you-mean', () => {
    const e = firstError([{ type: 'webhook', url: 'https://hooks.example.com/sous', secret: SECRET, events: ['deploy.*', 'build.faild'] }]);
    expect(e).toMatchObject({ code: 'NOTIFIER_UNKNOWN_EVENT', field: 'notifiers.0.events', hints: ['did you mean "build.failed"?'] });
  });

  it('requires a secret, and a set secretEnv', () => {
    expect(firstError([{ type: 'webhook', url: 'https://hooks.example.com/sous' }])).toMatchObject({ code: 'NOTIFIER_MISSING_FIELD', field: 'notifiers.0.secret' });
    expect(firstError([{ type: 'webhook', url: 'https://hooks.example.com/sous', secretEnv: 'NOPE_UNSET' }])).toMatchObject({
      code: 'NOTIFIER_MISSING_FIELD',
      field: 'notifiers.0.secretEnv',
      message: '/etc/sous/config.yaml: notifiers[0] (webhook): the environment variable NOPE_UNSET (secretEnv) is not set',
    });
  });

  it('refuses to let headers override its own', () => {
    expect(firstError([{ type: 'webhook', url: 'https://hooks.example.com/sous', secret: SECRET, headers: { 'X-Sous-Signature': 'x' } }])).toMatchObject({
      code: 'NOTIFIER_INVALID_FIELD',
      field: 'notifiers.0.headers.X-Sous-Signature',
    });
  });

  it('accepts a good entry, and a bad entry sends nothing', async () => {
    const { sous } = makeSous([{ type: 'webhook', url: 'https://hooks.example.com/sous', secret: SECRET, events: ['deploy.*'], manifests: ['github.com/acme/*'], owners: ['alice@example.com'], clusters: ['prod'] }]);
    expect(sous.validateConfig().warnings).toEqual([]);
    const bad = makeSous([{ type: 'webhook', url: 'ftp://x', secret: SECRET }]);
    expect(bad.plugin.channels).toHaveLength(0);
  });
});
