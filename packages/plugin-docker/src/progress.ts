import type { Progress } from '@sous/core';
import type { EngineMessage } from './stream';
import { decodeTrace, type Trace } from './trace';

/** How many output lines of a step are kept for an error report. */
export const KEPT_LINES = 20;
const MAX_LINE = 400;

interface Step {
  /** Position in order of appearance, as `docker build --progress=plain` numbers them (#1, #2 ...). */
  n: number;
  name: string;
  started?: Date;
  completed?: Date;
  cached: boolean;
  error: string;
  lines: string[];
  partial: Map<number, string>;
}

/** The step a build failed at, with its last output lines. */
export interface FailedStep {
  name: string;
  error: string;
  lines: string[];
}

/**
 * Follows one BuildKit build through the engine's messages: turns the trace
 * into `{ phase: 'build', message }` progress (a step starting, cached, done or
 * failing, and its output lines), keeps each step's last lines, and notes the
 * image id and the final error.
 */
export class BuildTracker {
  imageId?: string;
  error?: string;
  private readonly steps = new Map<string, Step>();

  constructor(private readonly onProgress?: (p: Progress) => void) {}

  private say(message: string): void {
    this.onProgress?.({ phase: 'build', message });
  }

  /** Feeds one message of the build stream. */
  message(m: EngineMessage): void {
    if (m.id === 'moby.buildkit.trace' && typeof m.aux === 'string') this.trace(decodeTrace(m.aux));
    else if (m.id === 'moby.image.id') this.imageId = (m.aux as { ID?: string })?.ID ?? this.imageId;
    else if (m.errorDetail || m.error) this.error = m.errorDetail?.message || m.error;
    else if (typeof m.stream === 'string' && m.stream.trim()) this.say(m.stream.trimEnd());
  }

  private step(digest: string): Step {
    let s = this.steps.get(digest);
    if (!s) {
      s = { n: this.steps.size + 1, name: '', cached: false, error: '', lines: [], partial: new Map() };
      this.steps.set(digest, s);
    }
    return s;
  }

  private trace(t: Trace): void {
    for (const v of t.vertexes) {
      const s = this.step(v.digest);
      if (v.name) s.name = v.name;
      if (v.started && !s.started) {
        s.started = v.started;
        this.say(`#${s.n} ${s.name}`);
      }
      if (v.cached && !s.cached && !s.completed) {
        s.cached = true;
        this.say(`#${s.n} CACHED ${s.name}`);
      }
      if (v.error && !s.error) {
        s.error = v.error;
        this.flush(s);
        this.say(`#${s.n} ERROR ${v.error}`);
      }
      if (v.completed && !s.completed) {
        s.completed = v.completed;
        this.flush(s);
        if (!s.cached && !s.error) {
          const secs = s.started ? ` ${((v.completed.getTime() - s.started.getTime()) / 1000).toFixed(1)}s` : '';
          this.say(`#${s.n} DONE${secs}`);
        }
      }
    }
    for (const l of t.logs) this.log(this.step(l.vertex), l.stream, l.msg.toString('utf8'));
    for (const w of t.warnings) this.say(`WARNING ${w.short}`);
  }

  private log(s: Step, stream: number, text: string): void {
    const parts = ((s.partial.get(stream) ?? '') + text).split('\n');
    s.partial.set(stream, parts.pop() ?? '');
    for (const p of parts) this.line(s, p);
  }

  private line(s: Step, raw: string): void {
    // A progress bar redraws with \r: only its last state is a line.
    let line = raw.slice(raw.lastIndexOf('\r', raw.length - 2) + 1).replace(/\r$/, '');
    if (line.length > MAX_LINE) line = `${line.slice(0, MAX_LINE)}…`;
    s.lines.push(line);
    if (s.lines.length > KEPT_LINES) s.lines.shift();
    this.say(`#${s.n} ${line}`);
  }

  private flush(s: Step): void {
    for (const [stream, rest] of s.partial) {
      if (rest) this.line(s, rest);
      s.partial.set(stream, '');
    }
  }

  /**
   * The step that failed: the one whose error the engine reported, else the
   * first one with an error of its own (steps stopped because another failed
   * report a cancellation).
   */
  failedStep(): FailedStep | undefined {
    const failed = [...this.steps.values()].filter((s) => s.error);
    if (!failed.length) return undefined;
    for (const s of failed) this.flush(s);
    const s =
      failed.find((f) => this.error && this.error.includes(f.error)) ??
      failed.find((f) => !/context canceled|canceled/i.test(f.error)) ??
      failed[0];
    return { name: s.name, error: s.error, lines: [...s.lines] };
  }
}
