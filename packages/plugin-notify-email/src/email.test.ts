import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { Sous, emitEvent, flushNotifications, coreNotifyPlugins, createLogger, type ResolvedConfig, type SousError } from '@sous/core';
import { emailNotifier } from './index';

interface Mail {
  from: string;
  rcpt: string[];
  headers: Record<string, string>;
  text: string;
}

/** Decodes RFC 2047 encoded words (=?UTF-8?Q?..?= / ?B?) in a header. */
function decodeWords(s: string): string {
  return s.replace(/\s*=\?utf-8\?([qb])\?([^?]*)\?=/gi, (_, enc: string, data: string) =>
    enc.toLowerCase() === 'b' ? Buffer.from(data, 'base64').toString() : Buffer.from(data.replace(/_/g, ' ').replace(/=([0-9a-f]{2})/gi, (_m, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString(),
  );
}

function decodeQP(s: string): string {
  return Buffer.from(s.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString();
}

/** The message as received: headers, and the text/plain part decoded. */
function parseMail(raw: string): Pick<Mail, 'headers' | 'text'> {
  const [head, ...rest] = raw.split(/\r?\n\r?\n/);
  const headers: Record<string, string> = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const i = line.indexOf(':');
    headers[line.slice(0, i).toLowerCase()] = decodeWords(line.slice(i + 1).trim());
  }
  const body = rest.join('\n\n');
  const part = /Content-Type: text\/plain[^]*?Content-Transfer-Encoding: ([\w-]+)\r?\n\r?\n([^]*?)\r?\n--/i.exec(body);
  if (!part) return { headers, text: body };
  const [, enc, data] = part;
  return { headers, text: enc.toLowerCase() === 'base64' ? Buffer.from(data, 'base64').toString() : enc.toLowerCase() === 'quoted-printable' ? decodeQP(data) : data };
}

/** A real SMTP server on 127.0.0.1 (smtp-server), with login sous/mail-pass-123. */
async function smtpServer(opts: Partial<SMTPServerOptions> = {}) {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _s, cb) {
      if (auth.username === 'sous' && auth.password === 'mail-pass-123') cb(null, { user: 'sous' });
      else cb(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
    },
    onData(stream, session, cb) {
      let raw = '';
      stream.on('data', (c: Buffer) => (raw += c.toString('latin1')));
      stream.on('end', () => {
        mails.push({ from: session.envelope.mailFrom ? (session.envelope.mailFrom as { address: string }).address : '', rcpt: session.envelope.rcptTo.map((r) => r.address), ...parseMail(raw) });
        cb();
      });
    },
    ...opts,
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.server.address() as net.AddressInfo).port;
  return { port, mails, close: () => new Promise<void>((r) => server.close(() => r())) };
}

let tmp: string;
beforeEach(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sous-email-'))));
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

function makeSous(notifiers: Record<string, unknown>[], env: Record<string, string> = {}) {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString()));
  const config = { warnings: [], notifiers, user: { name: 'Alice', email: 'alice@example.com' }, origins: { notifiers: 'user' }, files: { user: '/etc/sous/config.yaml' } } as unknown as ResolvedConfig;
  const sous = new Sous(config, { logger: createLogger({ stream: out, level: 'debug', json: true }) }).use(
    ...coreNotifyPlugins(),
    emailNotifier({ outboxDir: tmp, env, retry: { minDelayMs: 20, maxDelayMs: 40 }, timeoutMs: 2000 }),
  );
  const logs = () =>
    text
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { level: string; msg: string; [k: string]: unknown });
  return { sous, logs, raw: () => text };
}

const deployed = {
  type: 'deploy.succeeded' as const,
  manifestID: 'github.com/acme/shop',
  cluster: 'prod',
  version: '1.2.3',
  owners: ['owner@example.com'],
  links: { status: 'https://sous.example.com/d/prod:github.com/acme/shop' },
};

describe('email notifier', () => {
  it('sends a readable mail through a real SMTP server, to the list and the deploying user', async () => {
    const smtp = await smtpServer();
    try {
      const { sous, raw } = makeSous([{ type: 'email', smtp: `smtp://sous:mail-pass-123@127.0.0.1:${smtp.port}`, from: 'Sous <sous@example.com>', to: ['ops@example.com'], toUser: true }]);
      sous.validateConfig();
      const event = await emitEvent(sous, deployed);
      expect(await flushNotifications(sous, { timeoutMs: 10_000 })).toBe(0);
      expect(smtp.mails).toHaveLength(1);
      const [m] = smtp.mails;
      expect(m.from).toBe('sous@example.com');
      expect(m.rcpt).toEqual(['ops@example.com', 'alice@example.com']);
      expect(m.headers.subject).toBe('[sous] Deployed: github.com/acme/shop 1.2.3 → prod');
      expect(m.headers.to).toBe('ops@example.com, alice@example.com');
      expect(m.headers['x-sous-event']).toBe('deploy.succeeded');
      expect(m.headers['x-sous-event-id']).toBe(event.id);
      expect(m.headers['message-id']).toBe(`<${m.headers['x-sous-delivery']}@example.com>`);
      expect(m.text).toContain('Version: 1.2.3');
      expect(m.text).toContain('Deployment: prod:github.com/acme/shop');
      expect(m.text).toContain('User: Alice <alice@example.com>');
      expect(m.text).toContain('status: https://sous.example.com/d/prod:github.com/acme/shop');
      expect(raw()).not.toContain('mail-pass-123');
    } finally {
      await smtp.close();
    }
  });

  it('uses host/port/auth fields and sends to the owners when asked', async () => {
    const smtp = await smtpServer();
    try {
      const { sous } = makeSous([{ type: 'email', host: '127.0.0.1', port: smtp.port, auth: { user: 'sous', passEnv: 'SMTP_PASS' }, from: 'sous@example.com', toOwners: true, events: ['deploy.*'] }], { SMTP_PASS: 'mail-pass-123' });
      sous.validateConfig();
      await emitEvent(sous, deployed);
      await flushNotifications(sous, { timeoutMs: 10_000 });
      expect(smtp.mails.map((m) => m.rcpt)).toEqual([['owner@example.com']]);
    } finally {
      await smtp.close();
    }
  });

  it('does not retry a server that refuses the recipient (550): one attempt, a logged failure', async () => {
    let tries = 0;
    const smtp = await smtpServer({
      onRcptTo(_a, _s, cb) {
        tries++;
        cb(Object.assign(new Error('5.1.1 mailbox unavailable'), { responseCode: 550 }));
      },
    });
    try {
      const { sous, logs } = makeSous([{ type: 'email', smtp: `smtp://sous:mail-pass-123@127.0.0.1:${smtp.port}`, from: 'sous@example.com', to: ['nobody@example.com'] }]);
      await expect(emitEvent(sous, deployed)).resolves.toBeDefined();
      await flushNotifications(sous, { timeoutMs: 10_000 });
      expect(tries).toBe(1);
      const errors = logs().filter((l) => l.level === 'error');
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ status: 550, permanent: true });
      expect(errors[0].msg).toMatch(/^gave up delivering deploy.succeeded after 1 attempt: SMTP: EENVELOPE .*550 5\.1\.1 mailbox unavailable/);
    } finally {
      await smtp.close();
    }
  });

  it('retries a temporary refusal (451) and delivers once', async () => {
    let n = 0;
    const smtp = await smtpServer({
      onMailFrom(_a, _s, cb) {
        if (n++ === 0) cb(Object.assign(new Error('4.3.0 try again later'), { responseCode: 451 }));
        else cb();
      },
    });
    try {
      const { sous, logs } = makeSous([{ type: 'email', smtp: `smtp://sous:mail-pass-123@127.0.0.1:${smtp.port}`, from: 'sous@example.com', to: ['ops@example.com'] }]);
      await emitEvent(sous, deployed);
      await flushNotifications(sous, { timeoutMs: 10_000 });
      expect(smtp.mails).toHaveLength(1);
      expect(logs().filter((l) => l.level === 'warn').map((l) => l.status)).toEqual([451]);
    } finally {
      await smtp.close();
    }
  });

  it('retries when no SMTP server answers, then logs the failure', async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const { sous, logs } = makeSous([{ type: 'email', smtp: `smtp://127.0.0.1:${port}`, from: 'sous@example.com', to: ['ops@example.com'], retry: { attempts: 3 } }]);
    await emitEvent(sous, deployed);
    await flushNotifications(sous, { timeoutMs: 10_000 });
    const lines = logs();
    expect(lines.filter((l) => l.level === 'warn')).toHaveLength(2);
    const [err] = lines.filter((l) => l.level === 'error');
    expect(err.msg).toMatch(/^gave up delivering deploy.succeeded after 3 attempts: SMTP: ESOCKET .*ECONNREFUSED/);
  });

  it('gives up at once on a wrong password', async () => {
    const smtp = await smtpServer();
    try {
      const { sous, logs, raw } = makeSous([{ type: 'email', smtp: `smtp://sous:wrong-pass-999@127.0.0.1:${smtp.port}`, from: 'sous@example.com', to: ['ops@example.com'] }]);
      await emitEvent(sous, deployed);
      await flushNotifications(sous, { timeoutMs: 10_000 });
      expect(smtp.mails).toHaveLength(0);
      expect(logs().filter((l) => l.level === 'error').map((l) => l.msg)).toEqual([expect.stringMatching(/after 1 attempt: SMTP: EAUTH .*535/)]);
      expect(raw()).not.toContain('wrong-pass-999');
    } finally {
      await smtp.close();
    }
  });
});

describe('email config checks', () => {
  function firstError(notifiers: Record<string, unknown>[]): SousError {
    try {
      makeSous(notifiers).sous.validateConfig();
    } catch (e) {
      return e as SousError;
    }
    throw new Error('expected a config error');
  }

  it('names the bad field', () => {
    expect(firstError([{ type: 'email', smtp: 'http://mail.example.com', from: 'sous@example.com', to: ['a@example.com'] }])).toMatchObject({ code: 'NOTIFIER_INVALID_URL', field: 'notifiers.0.smtp' });
    expect(firstError([{ type: 'email', smtp: 'smtp://mail.example.com', to: ['a@example.com'] }])).toMatchObject({ code: 'NOTIFIER_MISSING_FIELD', field: 'notifiers.0.from' });
    expect(firstError([{ type: 'email', smtp: 'smtp://mail.example.com', from: 'sous@example.com' }])).toMatchObject({
      code: 'NOTIFIER_MISSING_FIELD',
      field: 'notifiers.0.to',
      message: '/etc/sous/config.yaml: notifiers[0] (email): no recipients: give to, or set toUser or toOwners',
    });
    expect(firstError([{ type: 'email', smtp: 'smtp://mail.example.com', from: 'sous@example.com', to: ['not-an-address'] }])).toMatchObject({ code: 'NOTIFIER_INVALID_FIELD', field: 'notifiers.0.to' });
    expect(firstError([{ type: 'email', from: 'sous@example.com', to: ['a@example.com'] }])).toMatchObject({ code: 'NOTIFIER_MISSING_FIELD', field: 'notifiers.0.host' });
    expect(firstError([{ type: 'email', host: 'h', auth: { user: 'u', passEnv: 'UNSET_PASS_VAR' }, from: 'sous@example.com', to: ['a@example.com'] }])).toMatchObject({ field: 'notifiers.0.auth.passEnv' });
    expect(firstError([{ type: 'email', smtp: 'smtp://mail.example.com', from: 'sous@example.com', to: ['a@example.com'], events: ['artifact.redy'] }])).toMatchObject({
      code: 'NOTIFIER_UNKNOWN_EVENT',
      hints: ['did you mean "artifact.ready"?'],
    });
  });
});
