import type * as protobuf from 'protobufjs';

/**
 * BuildKit's progress, as the engine relays it in `moby.buildkit.trace`
 * events: a base64 `moby.buildkit.v1.StatusResponse`
 * (github.com/moby/buildkit api/services/control/control.proto). Only the
 * fields Sous reads are declared; protobuf skips the others.
 */
export interface TraceVertex {
  digest: string;
  inputs: string[];
  name: string;
  cached: boolean;
  started?: Date;
  completed?: Date;
  error: string;
}

export interface TraceStatus {
  id: string;
  vertex: string;
  name: string;
  current: number;
  total: number;
  completed?: Date;
}

export interface TraceLog {
  vertex: string;
  /** 1 stdout, 2 stderr. */
  stream: number;
  msg: Buffer;
}

export interface TraceWarning {
  vertex: string;
  short: string;
}

export interface Trace {
  vertexes: TraceVertex[];
  statuses: TraceStatus[];
  logs: TraceLog[];
  warnings: TraceWarning[];
}

const timestamp = { fields: { seconds: { type: 'int64', id: 1 }, nanos: { type: 'int32', id: 2 } } };

const schema = {
  nested: {
    Timestamp: timestamp,
    StatusResponse: {
      fields: {
        vertexes: { rule: 'repeated', type: 'Vertex', id: 1 },
        statuses: { rule: 'repeated', type: 'VertexStatus', id: 2 },
        logs: { rule: 'repeated', type: 'VertexLog', id: 3 },
        warnings: { rule: 'repeated', type: 'VertexWarning', id: 4 },
      },
    },
    Vertex: {
      fields: {
        digest: { type: 'string', id: 1 },
        inputs: { rule: 'repeated', type: 'string', id: 2 },
        name: { type: 'string', id: 3 },
        cached: { type: 'bool', id: 4 },
        started: { type: 'Timestamp', id: 5 },
        completed: { type: 'Timestamp', id: 6 },
        error: { type: 'string', id: 7 },
      },
    },
    VertexStatus: {
      fields: {
        ID: { type: 'string', id: 1 },
        vertex: { type: 'string', id: 2 },
        name: { type: 'string', id: 3 },
        current: { type: 'int64', id: 4 },
        total: { type: 'int64', id: 5 },
        completed: { type: 'Timestamp', id: 8 },
      },
    },
    VertexLog: {
      fields: {
        vertex: { type: 'string', id: 1 },
        stream: { type: 'int64', id: 3 },
        msg: { type: 'bytes', id: 4 },
      },
    },
    VertexWarning: {
      fields: {
        vertex: { type: 'string', id: 1 },
        short: { type: 'bytes', id: 3 },
      },
    },
  },
};

let statusType: protobuf.Type | undefined;

interface RawTimestamp {
  seconds?: number | { toNumber(): number };
  nanos?: number;
}

function toDate(t: RawTimestamp | null | undefined): Date | undefined {
  if (!t) return undefined;
  const s = typeof t.seconds === 'object' ? t.seconds.toNumber() : Number(t.seconds ?? 0);
  return new Date(s * 1000 + Math.floor((t.nanos ?? 0) / 1e6));
}

const num = (v: unknown): number => (typeof v === 'object' && v !== null ? (v as { toNumber(): number }).toNumber() : Number(v ?? 0));

/** Decodes one `moby.buildkit.trace` aux payload (base64). */
export function decodeTrace(aux: string): Trace {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  statusType ??= (require('protobufjs') as typeof protobuf).Root.fromJSON(schema).lookupType('StatusResponse');
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const m = statusType.decode(Buffer.from(aux, 'base64')) as any;
  return {
    vertexes: (m.vertexes ?? []).map((v: Record<string, unknown>) => ({
      digest: (v.digest as string) ?? '',
      inputs: (v.inputs as string[]) ?? [],
      name: (v.name as string) ?? '',
      cached: Boolean(v.cached),
      started: toDate(v.started as RawTimestamp),
      completed: toDate(v.completed as RawTimestamp),
      error: (v.error as string) ?? '',
    })),
    statuses: (m.statuses ?? []).map((s: Record<string, unknown>) => ({
      id: (s.ID as string) ?? '',
      vertex: (s.vertex as string) ?? '',
      name: (s.name as string) ?? '',
      current: num(s.current),
      total: num(s.total),
      completed: toDate(s.completed as RawTimestamp),
    })),
    logs: (m.logs ?? []).map((l: Record<string, unknown>) => ({
      vertex: (l.vertex as string) ?? '',
      stream: num(l.stream),
      msg: Buffer.from((l.msg as Uint8Array) ?? []),
    })),
    warnings: (m.warnings ?? []).map((w: Record<string, unknown>) => ({
      vertex: (w.vertex as string) ?? '',
      short: Buffer.from((w.short as Uint8Array) ?? []).toString('utf8'),
    })),
  };
}
