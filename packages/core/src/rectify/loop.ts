import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { Logger } from '../hooks/plugin';
import type { RectifyResult } from '../pipeline/types';
import type { Rectifier, RectifyOptions } from './rectifier';

export interface LoopOptions extends RectifyOptions {
  /** A full pass at least this often, also when nothing changed (catches drift). 0 turns it off. */
  resyncMs: number;
  logger?: Logger;
  onResult?(r: RectifyResult, reason: string): void;
  onError?(e: unknown, reason: string): void;
}

/** One pass of the loop; `signal` aborts when the loop is stopped at once. */
export type LoopPass = (reason: string, signal: AbortSignal) => Promise<void>;

/** The pass of a plain rectify loop: one rectifier run with the options, results to the callbacks. */
export function rectifierPass(rectifier: Rectifier, opts: LoopOptions): LoopPass {
  return async (reason, signal) => {
    try {
      // Run first: an optional call would skip evaluating its argument when there is no onResult.
      const result = await rectifier.run({ ...opts, signal });
      opts.onResult?.(result, reason);
    } catch (e) {
      opts.onError?.(e, reason);
    }
  };
}

/**
 * Runs passes one at a time: on every trigger (a GDM change) and on a resync
 * interval. Triggers during a pass coalesce into one more pass after it.
 */
export class RectifyLoop {
  private running?: Promise<void>;
  private pending?: string;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private readonly abort = new AbortController();
  passes = 0;

  constructor(
    private readonly runPass: LoopPass,
    private readonly resyncMs: number,
  ) {}

  /** A loop of plain rectifier passes. */
  static of(rectifier: Rectifier, opts: LoopOptions): RectifyLoop {
    return new RectifyLoop(rectifierPass(rectifier, opts), opts.resyncMs);
  }

  start(): void {
    this.trigger('start');
    if (this.resyncMs > 0) this.timer = setInterval(() => this.trigger('resync'), this.resyncMs);
  }

  trigger(reason: string): void {
    if (this.stopped) return;
    if (this.running) {
      this.pending = this.pending ?? reason;
      return;
    }
    this.running = this.runPass(reason, this.abort.signal)
      .catch(() => undefined)
      .finally(() => {
        this.passes++;
        this.running = undefined;
        const next = this.pending;
        this.pending = undefined;
        if (next && !this.stopped) this.trigger(next);
      });
  }

  /** Stops triggering; waits for the pass in flight to finish its actions. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.pending = undefined;
    await this.running;
  }

  /** Stops at once: actions in flight are told to give up waiting. */
  async abortNow(): Promise<void> {
    this.abort.abort();
    await this.stop();
  }

  /** Resolves when no pass is running or waiting. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }
}

/**
 * Calls `onChange` whenever the state repository's branch moves (a commit
 * through Sous, a pull, or a commit made by hand). Watches git's ref files
 * and reflog with chokidar; because a ref moves by renaming `<ref>.lock` over
 * it, which file watchers do not always report, the reflog's size and time
 * are also checked every `pollMs` (a stat of one file) so no move is missed.
 */
export async function watchStateRefs(stateDir: string, onChange: () => void, opts: { pollMs?: number } = {}): Promise<{ close(): Promise<void> }> {
  const chokidar = await import('chokidar');
  const gitDir = path.join(stateDir, '.git');
  const watcher = chokidar.watch([path.join(gitDir, 'refs', 'heads'), path.join(gitDir, 'packed-refs'), path.join(gitDir, 'HEAD'), path.join(gitDir, 'logs')], {
    ignoreInitial: true,
    depth: 6,
  });
  watcher.on('all', () => onChange());
  await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  const reflog = path.join(gitDir, 'logs', 'HEAD');
  const look = async () => {
    try {
      const st = await fsp.stat(reflog);
      return `${st.size}:${st.mtimeMs}`;
    } catch {
      return '';
    }
  };
  let seen = await look();
  const timer = setInterval(() => {
    void look().then((now) => {
      if (now !== seen) {
        seen = now;
        onChange();
      }
    });
  }, opts.pollMs ?? 250);
  timer.unref();
  return {
    close: async () => {
      clearInterval(timer);
      await watcher.close();
    },
  };
}
