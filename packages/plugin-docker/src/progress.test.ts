import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Progress } from '@sous/core';
import { BuildTracker } from './progress';
import type { EngineMessage } from './stream';
import { decodeTrace } from './trace';

/** A real engine's messages for a build whose last RUN step fails (Docker 20.10, BuildKit). */
const recorded: EngineMessage[] = fs
  .readFileSync(path.join(__dirname, 'testing/fixtures/failed-build.jsonl'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l));

describe('BuildKit progress', () => {
  it('decodes a StatusResponse: vertex names, digests, times, logs', () => {
    const traces = recorded.filter((m) => m.id === 'moby.buildkit.trace').map((m) => decodeTrace(m.aux as string));
    const names = new Set(traces.flatMap((t) => t.vertexes.map((v) => v.name)));
    expect(names).toContain('[2/3] RUN echo hello 7 && echo line2');
    expect(names).toContain('[3/3] RUN echo bad; exit 3');
    const run = traces.flatMap((t) => t.vertexes).find((v) => v.name.startsWith('[2/3]') && v.completed);
    expect(run?.digest).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(run!.completed!.getTime()).toBeGreaterThanOrEqual(run!.started!.getTime());
    const logs = traces.flatMap((t) => t.logs).map((l) => l.msg.toString());
    expect(logs).toEqual(['hello 7\n', 'line2\n', 'bad\n']);
    expect(traces.flatMap((t) => t.vertexes).find((v) => v.error)?.error).toBe('executor failed running [/bin/sh -c echo bad; exit 3]: exit code: 3');
  });

  it('turns the messages into progress lines and finds the failed step with its output', () => {
    const progress: Progress[] = [];
    const t = new BuildTracker((p) => progress.push(p));
    for (const m of recorded) t.message(m);
    const lines = progress.map((p) => p.message);
    const run = lines.find((l) => l.endsWith('[2/3] RUN echo hello 7 && echo line2'));
    expect(run).toMatch(/^#\d+ /);
    const n = run!.split(' ')[0];
    expect(lines).toEqual(expect.arrayContaining([`${n} hello 7`, `${n} line2`, expect.stringMatching(new RegExp(`^${n} DONE \\d+\\.\\ds$`))]));
    expect(lines.some((l) => /CACHED \[1\/3\] FROM/.test(l))).toBe(true);
    expect(t.error).toBe('executor failed running [/bin/sh -c echo bad; exit 3]: exit code: 3');
    expect(t.imageId).toBeUndefined();
    expect(t.failedStep()).toEqual({ name: '[3/3] RUN echo bad; exit 3', error: t.error, lines: ['bad'] });
  });

  it('keeps the last 20 lines of a step, joins lines split across messages, and keeps only the last state of a redrawn line', () => {
    const t = new BuildTracker();
    const step = (log: string) => t.message({ id: 'moby.buildkit.trace', aux: encodeLog('sha256:x', log) });
    t.message({ id: 'moby.buildkit.trace', aux: encodeVertex('sha256:x', '[2/2] RUN make', 'exit code: 2') });
    for (let i = 1; i <= 30; i++) step(`line ${i}\n`);
    step('progress 10%\rprogress 100%\npart');
    step('ial end');
    expect(t.failedStep()?.lines).toEqual([...Array.from({ length: 18 }, (_, i) => `line ${i + 13}`), 'progress 100%', 'partial end']);
  });
});

// Minimal StatusResponse encoders for synthetic cases (field numbers from BuildKit's control.proto).
function field(no: number, wire: number, payload: Buffer): Buffer {
  const key = Buffer.from([(no << 3) | wire]);
  return wire === 2 ? Buffer.concat([key, varint(payload.length), payload]) : Buffer.concat([key, payload]);
}
function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 127) {
    out.push((n & 127) | 128);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}
function encodeVertex(digest: string, name: string, error: string): string {
  const v = Buffer.concat([field(1, 2, Buffer.from(digest)), field(3, 2, Buffer.from(name)), field(7, 2, Buffer.from(error))]);
  return field(1, 2, v).toString('base64');
}
function encodeLog(vertex: string, msg: string): string {
  const l = Buffer.concat([field(1, 2, Buffer.from(vertex)), field(3, 0, varint(1)), field(4, 2, Buffer.from(msg))]);
  return field(3, 2, l).toString('base64');
}
