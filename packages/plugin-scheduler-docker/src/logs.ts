import { byTime, mergeLines, timestamped, type LogLine, type LogRequest } from '@sous/core';
import type { Engine } from './engine';

/**
 * The chunks of an Engine API log stream, one per stream: a container
 * without a TTY frames its output (an 8-byte header: stream 1 stdout or 2
 * stderr, three zero bytes, the frame's length), a TTY one sends it plain.
 */
export async function* demuxStream(stream: AsyncIterable<Buffer | string>): AsyncIterable<{ stream?: 'stdout' | 'stderr'; data: Buffer }> {
  let buf = Buffer.alloc(0);
  let framed: boolean | undefined;
  for await (const c of stream) {
    buf = Buffer.concat([buf, typeof c === 'string' ? Buffer.from(c) : c]);
    if (framed === undefined) {
      const headerLike = buf[0] <= 2 && buf.subarray(1, Math.min(4, buf.length)).every((b) => b === 0);
      // Too short to tell, and it could be a frame header: wait for more.
      if (buf.length < 8 && headerLike) continue;
      framed = headerLike;
    }
    if (!framed) {
      yield { data: buf };
      buf = Buffer.alloc(0);
      continue;
    }
    while (buf.length >= 8) {
      const len = buf.readUInt32BE(4);
      if (buf.length < 8 + len) break;
      yield { stream: buf[0] === 2 ? 'stderr' : 'stdout', data: buf.subarray(8, 8 + len) };
      buf = buf.subarray(8 + len);
    }
  }
  if (buf.length && !framed) yield { data: buf };
}

/** Lines of one instance's log stream, with the engine's timestamps taken off into `time`. */
export async function* engineLogLines(instance: string, stream: AsyncIterable<Buffer | string>): AsyncIterable<LogLine> {
  // stdout and stderr are split into lines each: a line may reach us in several frames.
  const rest: Record<string, string> = {};
  const line = (s: 'stdout' | 'stderr' | undefined, text: string): LogLine => {
    const t = timestamped(text);
    return { instance, ...(s ? { stream: s } : {}), ...(t.time ? { time: t.time } : {}), text: t.text };
  };
  for await (const frame of demuxStream(stream)) {
    const key = frame.stream ?? 'out';
    let text = (rest[key] ?? '') + frame.data.toString('utf8');
    let nl: number;
    while ((nl = text.indexOf('\n')) >= 0) {
      yield line(frame.stream, text.slice(0, nl).replace(/\r$/, ''));
      text = text.slice(nl + 1);
    }
    rest[key] = text;
  }
  for (const [k, text] of Object.entries(rest)) if (text) yield line(k === 'out' ? undefined : (k as 'stdout' | 'stderr'), text);
}

/** The Engine API's log query for a request (stdout and stderr, timestamps on). */
export function logQuery(req: LogRequest): Record<string, unknown> {
  return {
    stdout: true,
    stderr: true,
    timestamps: true,
    follow: req.follow === true,
    tail: req.tail === undefined ? 'all' : String(req.tail),
    ...(req.since !== undefined ? { since: (req.since / 1000).toFixed(3) } : {}),
  };
}

/** One source of log lines: an instance name and the API path of its log stream. */
export interface LogSource {
  instance: string;
  path: string;
}

/**
 * The log lines of several instances: without `follow`, everything written
 * so far, in the order it was written; with it, as it arrives, until the
 * signal aborts or every stream ends.
 */
export async function* readEngineLogs(engine: Engine, sources: LogSource[], req: LogRequest): AsyncIterable<LogLine> {
  const open = async (s: LogSource) => {
    const stream = await engine.call<NodeJS.ReadableStream>('GET', s.path, { query: logQuery(req), stream: true, signal: req.signal, doing: `reading the logs of ${s.instance}` });
    return engineLogLines(s.instance, stream as unknown as AsyncIterable<Buffer>);
  };
  if (!req.follow) {
    const all: LogLine[] = [];
    for (const s of sources) for await (const l of await open(s)) all.push(l);
    yield* byTime(all);
    return;
  }
  const streams = await Promise.all(sources.map(open));
  try {
    yield* mergeLines(streams);
  } catch (e) {
    // The request was aborted on purpose: the stream simply ends.
    if (!req.signal?.aborted) throw e;
  }
}
