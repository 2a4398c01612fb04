import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { failure } from '@sous/core';
import { demuxLogs, engineError } from './engine';
import { readinessFor, waitReady, type InstanceView } from './probe';

/** A real HTTP server whose /health answers what `status()` says. */
async function server(status: () => number): Promise<{ port: number; hits: () => number; close: () => Promise<void> }> {
  let hits = 0;
  const s = http.createServer((req, res) => {
    hits++;
    res.statusCode = req.url === '/health' ? status() : 404;
    res.end('x');
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return { port: (s.address() as AddressInfo).port, hits: () => hits, close: () => new Promise((r) => s.close(() => r())) };
}

const far = () => Date.now() + 60_000;

describe('readiness settings', () => {
  it('come from Startup in seconds, with defaults', () => {
    expect(readinessFor('http-service', { CheckReadyURIPath: 'ready', CheckReadyProtocol: 'HTTPS', ConnectDelay: 2, Timeout: 30, CheckReadyInterval: 3, CheckReadyURITimeout: 4, CheckReadyRetries: 5, CheckReadyFailureStatuses: [503], CheckReadyPortIndex: 1 }, 2)).toEqual({
      http: true,
      protocol: 'https',
      path: '/ready',
      portIndex: 1,
      connectDelayMs: 2000,
      startupTimeoutMs: 30_000,
      intervalMs: 3000,
      connectIntervalMs: 500,
      uriTimeoutMs: 4000,
      failureStatuses: [503],
      retries: 5,
      skip: false,
    });
    expect(readinessFor('http-service', { SkipCheck: true }, 1).http).toBe(false);
    expect(readinessFor('worker', {}, 1).http).toBe(false);
    expect(readinessFor('http-service', {}, 0).http).toBe(false);
  });
});

describe('waitReady', () => {
  it('is ready on the first 2xx from the ready path', async () => {
    let n = 0;
    const s = await server(() => (++n < 3 ? 503 : 200));
    try {
      const r = await waitReady({ readiness: { ...readinessFor('http-service', { CheckReadyInterval: 0 }, 1), intervalMs: 20 }, settleMs: 0, deadline: far(), look: async () => ({ state: 'running', host: '127.0.0.1', port: s.port }) });
      expect(r).toEqual({ status: 'ready', message: 'answered 200 at /health' });
      expect(s.hits()).toBe(3);
    } finally {
      await s.close();
    }
  });

  it('fails at once on a failure status, and after CheckReadyRetries probes otherwise', async () => {
    const s = await server(() => 500);
    try {
      const look = async (): Promise<InstanceView> => ({ state: 'running', host: '127.0.0.1', port: s.port });
      const fatal = await waitReady({ readiness: readinessFor('http-service', { CheckReadyFailureStatuses: [500] }, 1), settleMs: 0, deadline: far(), look });
      expect(fatal.status).toBe('failed');
      expect(fatal.message).toMatch(/\/health answered 500 \(a failure status\)$/);
      expect(s.hits()).toBe(1);
      const retried = await waitReady({ readiness: { ...readinessFor('http-service', { CheckReadyRetries: 3 }, 1), intervalMs: 10 }, settleMs: 0, deadline: far(), look });
      expect(retried).toEqual({ status: 'failed', message: expect.stringMatching(/^not ready after 3 checks: .*answered 500$/) });
      expect(s.hits()).toBe(4);
    } finally {
      await s.close();
    }
  });

  it('fails an instance that exits, waits out transient engine errors, and is Pending at the deadline', async () => {
    const exited = await waitReady({ readiness: readinessFor('http-service', {}, 1), settleMs: 0, deadline: far(), look: async () => ({ state: 'failed', reason: 'exited with code 3' }) });
    expect(exited).toEqual({ status: 'failed', message: 'exited with code 3' });
    let calls = 0;
    const flaky = async (): Promise<InstanceView> => {
      if (++calls < 3) throw failure('ENGINE_UNREACHABLE', 'no engine', { details: { retryable: true } });
      return { state: 'running', host: '127.0.0.1' };
    };
    expect((await waitReady({ readiness: readinessFor('worker', {}, 1), settleMs: 0, deadline: far(), look: flaky })).status).toBe('ready');
    expect(calls).toBeGreaterThanOrEqual(3);
    const pending = await waitReady({ readiness: readinessFor('http-service', {}, 1), settleMs: 0, deadline: Date.now() + 300, look: async () => ({ state: 'starting', reason: 'pulling' }) });
    expect(pending).toEqual({ status: 'pending', message: expect.stringMatching(/^not ready yet after \d+ s: pulling$/) });
  });

  it('counts a running instance ready at once with SkipCheck', async () => {
    let looks = 0;
    const r = await waitReady({ readiness: readinessFor('http-service', { SkipCheck: true }, 1), settleMs: 60_000, deadline: far(), look: async () => (++looks, { state: 'running', host: '127.0.0.1', port: 1 }) });
    expect(r).toEqual({ status: 'ready', message: 'running (readiness check skipped)' });
    expect(looks).toBe(1);
  });

  it('counts a worker ready once it kept running through the settle period', async () => {
    let looks = 0;
    const r = await waitReady({ readiness: readinessFor('worker', {}, 1), settleMs: 300, deadline: far(), look: async () => (++looks, { state: 'running', host: '127.0.0.1' }) });
    expect(r.status).toBe('ready');
    expect(looks).toBeGreaterThan(1);
  });
});

describe('engine errors', () => {
  it('are retryable when the engine cannot be reached or answers 5xx, not when it refuses', () => {
    const refused = engineError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'unix:///s', 'listing containers');
    expect([refused.code, refused.details?.retryable]).toEqual(['ENGINE_UNREACHABLE', true]);
    const busy = engineError(Object.assign(new Error('(HTTP code 500) server error - boom'), { statusCode: 500, json: { message: 'boom' } }), 'unix:///s', 'creating x');
    expect([busy.code, busy.details?.retryable, busy.message]).toEqual(['ENGINE_ERROR', true, 'the Docker engine at unix:///s failed while creating x: boom (HTTP 500)']);
    const conflict = engineError(Object.assign(new Error('conflict'), { statusCode: 409, json: { message: 'name in use' } }), 'unix:///s', 'creating x');
    expect([conflict.code, conflict.details?.retryable, conflict.details?.status]).toEqual(['ENGINE_CONFLICT', false, 409]);
  });

  it('demultiplex log frames into lines', () => {
    const frame = (type: number, text: string) => {
      const h = Buffer.alloc(8);
      h[0] = type;
      h.writeUInt32BE(Buffer.byteLength(text), 4);
      return Buffer.concat([h, Buffer.from(text)]);
    };
    expect(demuxLogs(Buffer.concat([frame(1, 'one\ntw'), frame(2, 'o\nthree\n')]))).toEqual(['one', 'two', 'three']);
    expect(demuxLogs(Buffer.from('plain\nlines\n'))).toEqual(['plain', 'lines']);
  });
});
