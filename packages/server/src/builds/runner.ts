import * as fs from 'node:fs';
import * as path from 'node:path';
import { build, BUILD_PHASES, emitEvent, isSousError, toSousError, type BuildObserver, type BuildPhase, type SousError } from '@sous/core';
import type { ServerContext } from '../context';
import { autoDeploy } from './autodeploy';
import { removeUnrecorded } from './cleanup';
import type { Mirrors } from './mirror';
import type { JobStore } from './store';
import type { BuildJob } from './types';

const FETCH_TRIES = 5;
const FETCH_FIRST_WAIT_MS = 15_000;
const FETCH_MAX_WAIT_MS = 5 * 60_000;

/**
 * Runs one claimed job: fetch the repository's mirror, check the tag still
 * names the commit it was seen at, then `build()` (the pipeline of `sous
 * build --tag`: clean checkout, contracts, push, sign, pre-cache, record),
 * then the auto-deploys. Every phase goes into the job's log.
 */
export class JobRunner {
  constructor(
    private readonly ctx: ServerContext,
    private readonly store: JobStore,
    private readonly mirrors: Mirrors,
  ) {}

  private logger(job: BuildJob): (line: string) => void {
    return (line) => this.store.log(job.id, line);
  }

  private finish(job: BuildJob, state: BuildJob['state'], extra: Partial<BuildJob> = {}): void {
    Object.assign(job, extra, { state, finishedAt: new Date().toISOString() });
    this.store.save(job);
    this.logger(job)(`job ${state}${job.reason ? `: ${job.reason}` : ''}${job.error ? `: ${job.error.message} [${job.error.code}]` : ''}`);
  }

  async run(job: BuildJob): Promise<void> {
    const log = this.logger(job);
    job.state = 'running';
    job.startedAt = new Date().toISOString();
    delete job.notBefore;
    this.store.save(job);
    let clone: string;
    try {
      log(`fetching ${job.repo}`);
      clone = await this.mirrors.fetch(job.repo);
      job.fetchFailures = 0;
    } catch (e) {
      return this.fetchFailed(job, toSousError(e, 'GIT_FAILED'));
    }
    try {
      const now = await this.mirrors.tagCommit(job.repo, job.tag);
      if (!now) return this.finish(job, 'cancelled', { reason: `the tag ${job.tag} was deleted before the build started` });
      if (now !== job.commit) return this.finish(job, 'cancelled', { reason: `the tag ${job.tag} moved to ${now.slice(0, 12)} before the build started` });
      job.author = (await this.mirrors.author(job.repo, job.tag)) ?? job.author;
      const dir = path.join(clone, job.offset);
      if (path.relative(clone, dir).startsWith('..')) throw new Error(`offset ${job.offset} leaves the repository`);
      // The clone has no checkout; the build only needs the directory to exist to start from it.
      fs.mkdirSync(dir, { recursive: true });
      job.attempts += 1;
      this.store.save(job);
      log(`attempt ${job.attempts}: ${job.source} ${job.tag} at ${job.commit.slice(0, 12)}`);
      const r = await build(this.ctx.sous, { dir, tag: job.tag, repo: job.repo, backend: this.ctx.gdm, user: this.ctx.config.user, observer: this.observer(job) });
      this.ctx.cache.invalidate();
      job.result = {
        status: r.status,
        image: r.image,
        reference: r.reference,
        digest: r.digest,
        tags: r.tags,
        ...(r.signature?.Tag ? { signature: { tag: r.signature.Tag, keyId: r.signature.KeyID ?? '' } } : {}),
        timings: r.timings as Record<string, number>,
      };
      // An earlier attempt of this very job that recorded the artifact before it stopped still built it.
      const ours = r.status === 'built' || (job.pushed?.digest === r.digest && r.revision === job.commit);
      if (!ours) return this.finish(job, 'skipped', { reason: `${job.source} ${job.version} was already built` });
      // The job ends when its deploys are asked for too: a finished job says everything it did.
      job.autoDeploy = await autoDeploy(this.ctx, job, log).catch((e) => {
        log(`auto-deploy failed: ${(e as Error).message}`);
        return [];
      });
      this.finish(job, 'built');
    } catch (e) {
      const se = toSousError(e, 'BUILD_FAILED');
      log(`failed: ${se.message} [${se.code}]`);
      job.removed = [...(job.removed ?? []), ...(await this.clean(job))];
      this.finish(job, 'failed', { error: { code: se.code, message: se.message, ...(se.hints.length ? { hints: se.hints } : {}) } });
    }
  }

  /**
   * A remote that cannot be fetched is usually a passing thing (network,
   * host): the job waits and tries again, a few times, before it fails.
   */
  private fetchFailed(job: BuildJob, e: SousError): void {
    const n = (job.fetchFailures = (job.fetchFailures ?? 0) + 1);
    if (n >= FETCH_TRIES) {
      this.finish(job, 'failed', { error: { code: e.code, message: `fetching ${job.repo} failed ${n} times: ${e.message}`, hints: ['Check repositories.<repo>.url in the operator config and that the server can reach it'] } });
      return;
    }
    const wait = Math.min(FETCH_MAX_WAIT_MS, FETCH_FIRST_WAIT_MS * 2 ** (n - 1));
    Object.assign(job, { state: 'queued', notBefore: new Date(Date.now() + wait).toISOString() });
    this.store.save(job);
    this.logger(job)(`fetching ${job.repo} failed (${e.message}); trying again in ${Math.round(wait / 1000)}s`);
  }

  /** Notes each phase in the log and the job file, and what the push produced the moment it exists. */
  private observer(job: BuildJob): BuildObserver {
    const log = this.logger(job);
    return {
      phase: (name, status, detail) => {
        log(`${name} ${status}${detail ? `: ${detail}` : ''}`);
        job.phase = { name, status, at: new Date().toISOString() };
        if (name === 'publish' && status === 'start') {
          job.publishStarted = true;
          // An earlier attempt's digest was removed when it was interrupted; from here on only this attempt's counts.
          delete job.pushed;
        }
        if (name === 'publish' && status === 'done' && detail?.includes('@sha256:')) {
          const at = detail.lastIndexOf('@');
          job.pushed = { image: detail.slice(0, at), digest: detail.slice(at + 1) };
        }
        // Synchronous on purpose: the pipeline goes on to sign only after the digest it pushed is on disk.
        this.store.save(job);
      },
      progress: (p) => log(`  ${p.phase}: ${p.message}`),
    };
  }

  /** Removes anything this job pushed that no artifact record names. */
  async clean(job: BuildJob): Promise<string[]> {
    try {
      return await removeUnrecorded(this.ctx.sous, this.ctx.gdm, job, this.logger(job));
    } catch (e) {
      this.logger(job)(`could not check for unrecorded images: ${isSousError(e) ? e.message : String(e)}`);
      return [];
    }
  }

  /**
   * A job found `running` with its process gone: its half artifact (pushed,
   * never recorded) is removed, then it runs again, once; a second
   * interruption fails it.
   */
  async recover(job: BuildJob): Promise<void> {
    const log = this.logger(job);
    job.interruptions += 1;
    log(`interrupted: the server stopped during attempt ${job.attempts}${job.phase ? ` (in ${job.phase.name})` : ''}`);
    job.removed = [...(job.removed ?? []), ...(await this.clean(job))];
    if (job.interruptions >= 2) {
      const error = { code: 'BUILD_INTERRUPTED', message: `the server stopped during ${job.interruptions} attempts of this build`, hints: [`Build the tag by hand: sous build --tag ${job.tag}`] };
      this.finish(job, 'failed', { error });
      // The pipeline that would have said so died with the server: the tagger still hears of it.
      await emitEvent(this.ctx.sous, {
        type: 'build.failed',
        manifestID: job.source,
        version: job.version,
        source: { repo: job.repo, offset: job.offset, revision: job.commit, tag: job.tag },
        user: job.author ?? this.ctx.config.user,
        phase: (BUILD_PHASES as readonly string[]).includes(job.phase?.name ?? '') ? (job.phase!.name as BuildPhase) : 'source',
        error,
      }).catch((e) => log(`build.failed not announced: ${(e as Error).message}`));
      return;
    }
    // `pushed` stays: when the stop came after the record, the next attempt finds that digest recorded and knows the build was its own.
    Object.assign(job, { state: 'queued', phase: undefined, publishStarted: false });
    this.store.save(job);
    log('queued again');
  }
}
