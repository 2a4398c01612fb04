import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Sous } from '../hooks/sous';
import type { Logger } from '../hooks/plugin';
import type { ResolvedConfig } from '../config/types';
import { isSousError, type SousError } from '../errors';
import { emitEvent } from './emit';
import { OutboxNotifier, type NotifierEntry } from './notifier';
import { DeliveryError, type Attempt } from './delivery';
import { flushNotifications } from './registry';
import type { EntryChecker } from './entry-check';

type Entry = NotifierEntry & { target: string };
type SendImpl = (entry: Entry, a: Attempt) => Promise<{ status?: number } | void>;

class TestNotifier extends OutboxNotifier<Entry> {
  readonly name = 'test:notify';
  readonly notifierType = 'test';
  constructor(
    public sendImpl: SendImpl,
    opts: ConstructorParameters<typeof OutboxNotifier>[0] = {},
  ) {
    super(opts);
  }
  protected parseEntry(check: EntryChecker, common: NotifierEntry): Entry | undefined {
    check.keys(['target']);
    const target = check.string('target', { required: true });
    return target ? { ...common, target } : undefined;
  }
  protected send(entry: Entry, a: Attempt) {
    return this.sendImpl(entry, a);
  }
  protected identity(e: Entry) {
    return e.target;
  }
  protected describe(e: Entry) {
    return { target: e.target };
  }
}

function recordingLogger() {
  const lines: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
  const at = (level: string) => (msg: string, fields?: Record<string, unknown>) => void lines.push({ level, msg, fields });
  const l: Logger = { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => l };
  return Object.assign(l, { lines });
}

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sous-outbox-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

function setup(notifiers: Record<string, unknown>[], send: SendImpl, retry = { attempts: 3, minDelayMs: 20, maxDelayMs: 40 }) {
  const config = { warnings: [], notifiers, user: { name: 'Alice', email: 'alice@example.com' }, origins: { notifiers: 'user' }, files: { user: '/etc/sous/config.yaml' } } as unknown as ResolvedConfig;
  const logger = recordingLogger();
  const plugin = new TestNotifier(send, { outboxDir: tmp, retry });
  const sous = new Sous(config, { logger }).use(plugin);
  return { sous, plugin, logger };
}

const deploy = (version = '1.0.0') => ({ type: 'deploy.succeeded' as const, manifestID: 'github.com/acme/shop', cluster: 'prod', version });

function pendingFiles(): string[] {
  return fs.readdirSync(tmp).flatMap((k) => (fs.existsSync(path.join(tmp, k, 'pending')) ? fs.readdirSync(path.join(tmp, k, 'pending')) : []));
}

describe('OutboxNotifier delivery', () => {
  it('writes the delivery to the outbox before the first attempt and removes it after a success', async () => {
    const seen: { file: boolean; id: string; attempt: number }[] = [];
    const { sous, plugin } = setup([{ type: 'test', target: 'a' }], async (_e, a) => {
      seen.push({ file: fs.existsSync(path.join(plugin.channels[0].outbox.pendingDir, `${a.deliveryId}.json`)), id: a.deliveryId, attempt: a.attempt });
      return { status: 200 };
    });
    const event = await emitEvent(sous, deploy());
    expect(await flushNotifications(sous, { timeoutMs: 5000 })).toBe(0);
    expect(seen).toEqual([{ file: true, id: expect.stringMatching(/^[0-9a-f]{32}$/), attempt: 1 }]);
    expect(pendingFiles()).toEqual([]);
    const log = await plugin.channels[0].outbox.attempts();
    expect(log).toEqual([expect.objectContaining({ ok: true, status: 200, eventId: event.id, eventType: 'deploy.succeeded', attempt: 1, final: true, delivery: seen[0].id })]);
  });

  it('retries a failing delivery with backoff, then delivers it with the same delivery id', async () => {
    const ids: string[] = [];
    const { sous, plugin, logger } = setup([{ type: 'test', target: 'a' }], async (_e, a) => {
      ids.push(a.deliveryId);
      if (a.attempt < 3) throw new DeliveryError('receiver answered 500', { status: 500 });
    });
    await emitEvent(sous, deploy());
    expect(await flushNotifications(sous, { timeoutMs: 5000 })).toBe(0);
    expect(ids).toHaveLength(3);
    expect(new Set(ids).size).toBe(1);
    const log = await plugin.channels[0].outbox.attempts();
    expect(log.map((l) => [l.attempt, l.ok, l.status ?? null])).toEqual([
      [1, false, 500],
      [2, false, 500],
      [3, true, null],
    ]);
    expect(logger.lines.filter((l) => l.level === 'warn').map((l) => l.msg)).toEqual([
      expect.stringMatching(/^delivering deploy.succeeded failed \(attempt 1 of 3\), retrying in .*: receiver answered 500$/),
      expect.stringMatching(/attempt 2 of 3/),
    ]);
    expect(pendingFiles()).toEqual([]);
  });

  it('gives up after the last attempt: logged, moved to failed/, and never an error to the caller', async () => {
    const { sous, plugin, logger } = setup([{ type: 'test', target: 'a' }], async () => {
      throw new Error('connect ECONNREFUSED 127.0.0.1:9');
    });
    await expect(emitEvent(sous, deploy())).resolves.toMatchObject({ type: 'deploy.succeeded' });
    await flushNotifications(sous, { timeoutMs: 5000 });
    const errors = logger.lines.filter((l) => l.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0].msg).toBe('gave up delivering deploy.succeeded after 3 attempts: connect ECONNREFUSED 127.0.0.1:9');
    expect(pendingFiles()).toEqual([]);
    const failed = await plugin.channels[0].outbox.failed();
    expect(failed).toEqual([expect.objectContaining({ attempts: 3, lastError: 'connect ECONNREFUSED 127.0.0.1:9' })]);
  });

  it('does not retry a permanent refusal', async () => {
    let calls = 0;
    const { sous, plugin } = setup([{ type: 'test', target: 'a' }], async () => {
      calls++;
      throw new DeliveryError('receiver answered 404', { status: 404, permanent: true });
    });
    await emitEvent(sous, deploy());
    await flushNotifications(sous, { timeoutMs: 5000 });
    expect(calls).toBe(1);
    expect(await plugin.channels[0].outbox.failed()).toHaveLength(1);
  });

  it('still sends, and says so, when the outbox cannot be written', async () => {
    const blocker = path.join(tmp, 'not-a-dir');
    fs.writeFileSync(blocker, '');
    const got: string[] = [];
    const { sous, logger } = setup([{ type: 'test', target: 'a', outbox: path.join(blocker, 'outbox') }], async (_e, a) => void got.push(a.deliveryId));
    await emitEvent(sous, deploy());
    await flushNotifications(sous, { timeoutMs: 5000 });
    expect(got).toHaveLength(1);
    expect(logger.lines.filter((l) => l.level === 'error').map((l) => l.msg)).toEqual([expect.stringMatching(/^cannot write the outbox \(ENOTDIR: .*\); sending deploy.succeeded without it$/)]);
  });

  it('routes: only matching entries get the event', async () => {
    const got: string[] = [];
    const { sous } = setup(
      [
        { type: 'test', target: 'deploys', events: ['deploy.*'] },
        { type: 'test', target: 'builds', events: ['build.*'] },
        { type: 'test', target: 'staging', clusters: ['staging'] },
      ],
      async (entry) => void got.push(entry.target),
    );
    await emitEvent(sous, deploy());
    await flushNotifications(sous, { timeoutMs: 5000 });
    expect(got).toEqual(['deploys']);
  });

  it('stops waiting at the deadline and leaves the delivery in the outbox for the next process, which sends it', async () => {
    const first = setup([{ type: 'test', target: 'a' }], (_e, a) => new Promise((_, reject) => a.signal.addEventListener('abort', () => reject(new Error('aborted')))));
    const event = await emitEvent(first.sous, deploy());
    expect(await flushNotifications(first.sous, { timeoutMs: 100, close: true })).toBe(1);
    expect(pendingFiles()).toHaveLength(1);
    const firstLog = await first.plugin.channels[0].outbox.attempts();
    expect(firstLog).toEqual([expect.objectContaining({ ok: false, error: 'interrupted: the process stopped waiting', final: false })]);

    const got: { eventId: string; deliveryId: string; attempt: number }[] = [];
    const second = setup([{ type: 'test', target: 'a', events: ['*'] }], async (_e, a) => void got.push({ eventId: a.event.id, deliveryId: a.deliveryId, attempt: a.attempt }));
    await flushNotifications(second.sous, { timeoutMs: 5000 });
    expect(got).toEqual([{ eventId: event.id, deliveryId: firstLog[0].delivery, attempt: 1 }]);
    expect(pendingFiles()).toEqual([]);
  });

  it('leaves a delivery claimed by a live process alone, and takes over one claimed by a dead process', async () => {
    const stuck = setup([{ type: 'test', target: 'a' }], async () => {
      throw new DeliveryError('down', { status: 503 });
    }, { attempts: 5, minDelayMs: 60_000, maxDelayMs: 60_000 });
    await emitEvent(stuck.sous, deploy());
    await flushNotifications(stuck.sous, { timeoutMs: 1000, close: true });
    const outbox = stuck.plugin.channels[0].outbox;
    const [rec] = await outbox.pending();
    await outbox.update({ ...rec, nextAttemptAt: new Date().toISOString() });
    const claimFile = path.join(outbox.pendingDir, `${rec.id}.claim`);

    fs.writeFileSync(claimFile, JSON.stringify({ pid: process.pid === 1 ? 2 : 1, host: os.hostname(), at: Date.now() }));
    const got: string[] = [];
    const other = setup([{ type: 'test', target: 'a' }], async (_e, a) => void got.push(a.deliveryId));
    await flushNotifications(other.sous, { timeoutMs: 1000, close: true });
    expect(got).toEqual([]);

    const dead = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
    fs.writeFileSync(claimFile, JSON.stringify({ pid: Number(dead.stdout.trim()), host: os.hostname(), at: Date.now() }));
    const third = setup([{ type: 'test', target: 'a' }], async (_e, a) => void got.push(a.deliveryId));
    await flushNotifications(third.sous, { timeoutMs: 5000 });
    expect(got).toEqual([rec.id]);
    expect(fs.existsSync(claimFile)).toBe(false);
  });
});

describe('OutboxNotifier config checks', () => {
  function errors(entries: Record<string, unknown>[]): SousError[] {
    const { sous } = setup(entries, async () => undefined);
    try {
      sous.validateConfig();
    } catch (e) {
      expect(isSousError(e)).toBe(true);
    }
    const report = { errors: [] as SousError[], warnings: [] as string[] };
    sous.hooks.validate.call(sous.config, report);
    return report.errors;
  }

  it('reports unknown event names with a did-you-mean, naming the file and field', () => {
    const [e, ...rest] = errors([{ type: 'test', target: 'a', events: ['deploy.*', 'deploy.succeded'] }]);
    expect(rest).toEqual([]);
    expect(e.code).toBe('NOTIFIER_UNKNOWN_EVENT');
    expect(e.message).toBe('/etc/sous/config.yaml: notifiers[0] (test): events: "deploy.succeded" is not an event type');
    expect(e.file).toBe('/etc/sous/config.yaml');
    expect(e.field).toBe('notifiers.0.events');
    expect(e.hints).toEqual(['did you mean "deploy.succeeded"?']);
    expect(e.exit).toBe(2);
  });

  it('reports missing fields, unknown keys and bad retry settings; a bad entry gets no channel', () => {
    const errs = errors([{ type: 'test', events: ['*'], tagret: 'x', retry: { attempts: 0, delay: 1 } }]);
    expect(errs.map((e) => [e.code, e.field])).toEqual([
      ['NOTIFIER_UNKNOWN_KEY', 'notifiers.0.retry.delay'],
      ['NOTIFIER_INVALID_FIELD', 'notifiers.0.retry.attempts'],
      ['NOTIFIER_UNKNOWN_KEY', 'notifiers.0.tagret'],
      ['NOTIFIER_MISSING_FIELD', 'notifiers.0.target'],
    ]);
    expect(errs[2].hints).toEqual(['did you mean "target"?']);
    const { plugin } = setup([{ type: 'test', events: ['*'] }], async () => undefined);
    expect(plugin.channels).toHaveLength(0);
  });
});
