import { isSousError, mergeLines, pickInstances, sleep, usageError, type LogLine, type LogRequest } from '@sous/core';
import type { SingularityClient } from './client';
import type { TaskId } from './dto';

/** SingularityTaskIdHistory, as GET /api/history/request/{id}/tasks/active lists them. */
export interface TaskIdHistory {
  taskId: TaskId & { host?: string; startedAt?: number };
  updatedAt?: number;
  lastTaskState?: string;
}

/** MesosFileChunkObject: a piece of a sandbox file. */
export interface FileChunk {
  data: string;
  offset: number;
  nextOffset?: number;
}

/** SingularitySandbox: a directory of a task's sandbox. */
export interface Sandbox {
  files?: { name: string; size: number; mtime?: number; mode?: string }[];
  currentDirectory?: string;
  fullPathToRoot?: string;
  slaveHostname?: string;
}

/** The sandbox files a task's output goes to (the Mesos Docker containerizer's). */
export const LOG_FILES = ['stdout', 'stderr'] as const;

/** Bytes read at a time. */
const CHUNK = 256 * 1024;

export interface SandboxLogContext {
  client: SingularityClient;
  /** How often a follower asks for more. */
  pollMs: number;
}

const enc = encodeURIComponent;

async function readChunk(ctx: SandboxLogContext, task: string, file: string, offset: number, length: number): Promise<FileChunk> {
  const c = await ctx.client.get<FileChunk>(`/api/sandbox/${enc(task)}/read`, { path: file, offset, length });
  return { data: c?.data ?? '', offset: c?.offset ?? offset, nextOffset: c?.nextOffset ?? offset + Buffer.byteLength(c?.data ?? '') };
}

/** The last `tail` lines of a file that is `size` bytes long, read backwards a chunk at a time; and where the file ends. */
async function tailOf(ctx: SandboxLogContext, task: string, file: string, size: number, tail: number | undefined): Promise<{ lines: string[]; end: number }> {
  let start = tail === undefined ? 0 : Math.max(0, size - CHUNK);
  for (;;) {
    let text = '';
    for (let at = start; at < size; ) {
      const c = await readChunk(ctx, task, file, at, Math.min(CHUNK, size - at));
      if (!c.data) break;
      text += c.data;
      at = c.nextOffset!;
    }
    let lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    // The first line of a window that starts mid-file may be cut: drop it unless the window is the whole file.
    if (start > 0) lines = lines.slice(1);
    if (tail === undefined || lines.length >= tail || start === 0) return { lines: tail === undefined ? lines : lines.slice(-tail), end: size };
    start = Math.max(0, start - CHUNK * 4);
  }
}

/** One sandbox file of one task as log lines; with `follow`, polled for more until the signal aborts or the task is gone. */
async function* fileLines(ctx: SandboxLogContext, task: { id: string; name: string }, file: (typeof LOG_FILES)[number], size: number, req: LogRequest): AsyncIterable<LogLine> {
  const { lines, end } = await tailOf(ctx, task.id, file, size, req.tail);
  for (const text of lines) yield { instance: task.name, stream: file, text };
  if (!req.follow) return;
  let at = end;
  let rest = '';
  while (!req.signal?.aborted) {
    let c: FileChunk;
    try {
      c = await readChunk(ctx, task.id, file, at, CHUNK);
    } catch (e) {
      // The task (and its sandbox) went away: its lines end here.
      if (isSousError(e) && e.code === 'SINGULARITY_NOT_FOUND') break;
      throw e;
    }
    if (c.data) {
      rest += c.data;
      at = c.nextOffset!;
      const parts = rest.split('\n');
      rest = parts.pop()!;
      for (const text of parts) yield { instance: task.name, stream: file, text };
      continue;
    }
    await sleep(ctx.pollMs, req.signal);
  }
  if (rest) yield { instance: task.name, stream: file, text: rest };
}

/** Refuses what sandbox files cannot answer, before any call: they carry no timestamps. */
export function checkLogRequest(req: LogRequest): void {
  if (req.since !== undefined) {
    throw usageError('LOGS_OPTION_UNSUPPORTED', "Singularity's sandbox files carry no timestamps, so --since cannot be applied to them", { hints: ['Use --tail N instead'] });
  }
}

/**
 * A request's output from its active tasks' sandbox files (`stdout`,
 * `stderr`) through Singularity's sandbox proxy: without `follow`, task by
 * task (each task's sandbox looked at, then its files read); with it, every
 * file of every task at once, as lines come.
 */
export async function* sandboxLogs(ctx: SandboxLogContext, deploymentID: string, requestId: string, req: LogRequest): AsyncIterable<LogLine> {
  checkLogRequest(req);
  const active = (await ctx.client.get<TaskIdHistory[]>(`/api/history/request/${enc(requestId)}/tasks/active`)) ?? [];
  const tasks = active
    .filter((t) => t.taskId?.id)
    .map((t) => ({ id: t.taskId.id!, name: `${t.taskId.instanceNo ?? 0}@${t.taskId.host ?? 'unknown'}`, no: t.taskId.instanceNo ?? 0 }))
    .sort((a, b) => a.no - b.no || a.id.localeCompare(b.id));
  const chosen = pickInstances(tasks, deploymentID, req.instance);
  const filesOf = async (t: (typeof chosen)[number]): Promise<AsyncIterable<LogLine>[]> => {
    const box = await ctx.client.get<Sandbox>(`/api/sandbox/${enc(t.id)}/browse`);
    const out: AsyncIterable<LogLine>[] = [];
    for (const f of LOG_FILES) {
      const entry = box?.files?.find((x) => x.name === f || x.name.endsWith(`/${f}`));
      if (entry) out.push(fileLines(ctx, t, f, entry.size, req));
    }
    return out;
  };
  if (!req.follow) {
    for (const t of chosen) for (const src of await filesOf(t)) yield* src;
    return;
  }
  const all: AsyncIterable<LogLine>[] = [];
  for (const t of chosen) all.push(...(await filesOf(t)));
  yield* mergeLines(all);
}
