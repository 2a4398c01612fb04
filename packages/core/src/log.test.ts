import { PassThrough } from 'node:stream';
import { createLogger, levelFor, markSecret, markSecretsIn, prettyLine, redact, redactText, streamLogger, REDACTED } from './log';

function capture(isTTY = false): { stream: NodeJS.WritableStream; text: () => string; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new PassThrough();
  stream.on('data', (c: Buffer) => chunks.push(c.toString()));
  (stream as unknown as { isTTY: boolean }).isTTY = isTTY;
  const text = () => chunks.join('');
  return {
    stream,
    text,
    lines: () =>
      text()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('createLogger', () => {
  it('writes JSON lines with level, time, message and fields when the stream is not a terminal', () => {
    const out = capture();
    const log = createLogger({ stream: out.stream, level: 'info' });
    log.info('deploy requested', { cluster: 'prod', version: '1.2.3' });
    log.child({ plugin: 'sous:notify-webhook' }).warn('retrying', { attempt: 2 });
    const [a, b] = out.lines();
    expect(a).toMatchObject({ level: 'info', msg: 'deploy requested', cluster: 'prod', version: '1.2.3' });
    expect(Date.parse(String(a.time))).not.toBeNaN();
    expect(b).toMatchObject({ level: 'warn', msg: 'retrying', plugin: 'sous:notify-webhook', attempt: 2 });
  });

  it('drops lines below the level', () => {
    const out = capture();
    const log = createLogger({ stream: out.stream, level: 'warn' });
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');
    expect(out.lines().map((l) => l.msg)).toEqual(['w', 'e']);
    const silent = capture();
    createLogger({ stream: silent.stream, level: 'silent' }).error('nothing');
    expect(silent.text()).toBe('');
  });

  it('writes readable lines on a terminal', () => {
    const out = capture(true);
    const log = streamLogger({ stream: out.stream, level: 'debug' });
    log.info('built', { image: 'reg/app:1.0.0' });
    log.error('push failed', { code: 'PUSH_FAILED' });
    expect(out.text()).toBe('built  image=reg/app:1.0.0\nERROR: push failed  code=PUSH_FAILED\n');
  });

  it('never writes secrets: secret keys, URL passwords, bearer tokens, marked values', () => {
    const out = capture();
    const log = createLogger({ stream: out.stream, level: 'debug' });
    markSecret('hunter2-webhook-key');
    log.error('POST failed: key hunter2-webhook-key rejected', {
      url: 'smtp://mailer:s3cr3t-pass@127.0.0.1:2525',
      headers: { Authorization: 'Bearer abcdefghijkl', 'X-Other': 'fine' },
      notifiers: [{ type: 'webhook', secret: 'another-secret-value' }],
      err: new Error('sent Bearer zzzzyyyyxxxx to hunter2-webhook-key'),
    });
    const text = out.text();
    for (const s of ['hunter2-webhook-key', 's3cr3t-pass', 'abcdefghijkl', 'another-secret-value', 'zzzzyyyyxxxx']) expect(text).not.toContain(s);
    const [line] = out.lines();
    expect(line.msg).toBe(`POST failed: key ${REDACTED} rejected`);
    expect(line.url).toBe(`smtp://mailer:${REDACTED}@127.0.0.1:2525`);
    expect(line.headers).toEqual({ Authorization: REDACTED, 'X-Other': 'fine' });
    expect((line.err as { message: string }).message).toContain(`Bearer ${REDACTED}`);
  });

  it('marks secrets found in a config object', () => {
    markSecretsIn({ notifiers: [{ type: 'email', smtp: 'smtp://u:pw-from-url@h:25', auth: { user: 'u', pass: 'smtp-pass-value' } }] });
    expect(redactText('pw-from-url and smtp-pass-value')).toBe(`${REDACTED} and ${REDACTED}`);
  });

  it('keeps ordinary text, and the redact() name its callers use', () => {
    expect(redactText('Basic authentication failed for https://example.com/x')).toBe('Basic authentication failed for https://example.com/x');
    expect(redact({ token: 't0ken-value', nested: { apiKey: 'k', n: 1 }, enabled: true })).toEqual({ token: REDACTED, nested: { apiKey: REDACTED, n: 1 }, enabled: true });
  });
});

describe('levelFor and prettyLine', () => {
  it('raises the level with -v and --debug', () => {
    expect(levelFor({})).toBe('warn');
    expect(levelFor({ verbose: true })).toBe('info');
    expect(levelFor({ verbose: true, debug: true })).toBe('debug');
  });
  it('passes through lines that are not JSON', () => {
    expect(prettyLine('plain')).toBe('plain');
  });
});
