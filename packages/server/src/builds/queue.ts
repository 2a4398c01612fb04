import type { Logger } from '@sous/core';
import type { JobRunner } from './runner';
import type { JobStore } from './store';
import type { BuildJob } from './types';

/**
 * Runs queued jobs oldest first, at most `concurrency` at once. A job runs
 * only under its claim, so two processes sharing a state never run one job
 * at the same time; on start, jobs left `running` by a process that is gone
 * are recovered (see `JobRunner.recover`).
 */
export class BuildQueue {
  private readonly running = new Map<string, Promise<void>>();
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly store: JobStore,
    private readonly runner: JobRunner,
    private readonly opts: { concurrency: number; keepJobs: number; logger: Logger },
  ) {}

  /** Recovers interrupted jobs, then starts the queued ones. */
  async start(): Promise<void> {
    for (const job of this.store.list().reverse()) {
      if (job.state === 'running' && !this.store.holderAlive(job.id)) {
        this.opts.logger.warn(`build ${job.id} (${job.source} ${job.tag}) was interrupted: recovering it`);
        await this.runner.recover(job);
      }
    }
    const queued = this.store.list().filter((j) => j.state === 'queued').length;
    if (queued) this.opts.logger.info(`resuming ${queued} queued build(s)`);
    this.pump();
  }

  /** Stores a new job and starts it when a slot is free. */
  add(job: BuildJob): void {
    this.store.save(job);
    this.store.log(job.id, `queued: ${job.source} ${job.tag} at ${job.commit.slice(0, 12)} (${job.trigger}${job.delivery ? ` ${job.delivery}` : ''})`);
    this.pump();
  }

  private wakeUp?: NodeJS.Timeout;

  private pump(): void {
    if (this.stopped) return;
    const now = new Date().toISOString();
    const queued = this.store
      .list()
      .reverse()
      .filter((j) => j.state === 'queued' && !this.running.has(j.id));
    // Jobs waiting to try again: wake up when the first of them may.
    const waiting = queued.filter((j) => j.notBefore && j.notBefore > now).map((j) => Date.parse(j.notBefore!));
    if (this.wakeUp) clearTimeout(this.wakeUp);
    this.wakeUp = waiting.length ? setTimeout(() => this.pump(), Math.max(0, Math.min(...waiting) - Date.now()) + 10) : undefined;
    for (const job of queued.filter((j) => !j.notBefore || j.notBefore <= now)) {
      if (this.running.size >= this.opts.concurrency) break;
      // Another live process holds it: leave it to that one.
      if (!this.store.claim(job.id)) continue;
      const p = this.runner
        .run(job)
        .catch((e) => this.opts.logger.error(`build ${job.id} failed unexpectedly: ${(e as Error).message}`))
        .finally(() => {
          this.store.release(job.id);
          this.running.delete(job.id);
          this.store.prune(this.opts.keepJobs);
          this.pump();
          if (!this.running.size && !this.pending().length) for (const w of this.idleWaiters.splice(0)) w();
        });
      this.running.set(job.id, p);
    }
  }

  pending(): BuildJob[] {
    return this.store.list().filter((j) => j.state === 'queued' || j.state === 'running');
  }

  /** Resolves when nothing is queued or running. */
  idle(): Promise<void> {
    if (!this.running.size && !this.pending().length) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Starts nothing new; waits for the builds in flight to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.wakeUp) clearTimeout(this.wakeUp);
    await Promise.all(this.running.values());
    for (const w of this.idleWaiters.splice(0)) w();
  }
}
