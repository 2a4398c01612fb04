import * as path from 'node:path';
import { formatSourceLocation, parseSourceLocation, parseVersion } from '@sous/core';
import type { ServerContext } from '../context';
import { Mirrors } from './mirror';
import { BuildQueue } from './queue';
import { JobRunner } from './runner';
import { JobStore } from './store';
import type { BuildJob, TagSighting } from './types';
import { TagWatcher, type TagChange } from './watcher';
import { checkHubSignature, decodeBody, DeliveryLog, parseEvent, WebhookRefusal, type HookEvent } from './webhook';

export type { BuildJob, JobState, AutoDeployOutcome, TagSighting } from './types';
export { WebhookRefusal } from './webhook';

/** How the server builds tags. */
export interface TagBuildsOptions {
  /** Poll every registered repository's tags this often; 0 polls never. */
  pollMs: number;
  /** Builds at once. */
  concurrency: number;
  /** Finished jobs kept. */
  keepJobs: number;
  /** The secret push webhooks are signed with; without one, webhooks are refused. */
  webhookSecret?: string;
}

/** One webhook delivery, as the HTTP route hands it over. */
export interface Delivery {
  event?: string;
  id?: string;
  signature?: string | string[];
  contentType?: string;
  raw: Buffer;
}

/**
 * Pushed semver tags become builds: webhooks and polling report tags, each
 * new (repository, tag, commit) becomes one job per application of that
 * repository, and the queue runs the jobs through the build pipeline.
 */
export class TagBuilds {
  readonly store: JobStore;
  readonly mirrors: Mirrors;
  readonly watcher: TagWatcher;
  private readonly queue: BuildQueue;
  private readonly deliveries: DeliveryLog;

  constructor(
    private readonly ctx: ServerContext,
    readonly opts: TagBuildsOptions,
    /** The server's private directory (the state's .git/sous). */
    dir: string,
  ) {
    this.store = new JobStore(path.join(dir, 'builds'));
    this.mirrors = new Mirrors(path.join(dir, 'mirrors'), ctx.config);
    this.queue = new BuildQueue(this.store, new JobRunner(ctx, this.store, this.mirrors), { concurrency: opts.concurrency, keepJobs: opts.keepJobs, logger: ctx.logger });
    this.watcher = new TagWatcher(path.join(dir, 'builds', 'watch'), this.mirrors, async () => [...(await this.registered()).keys()], (c) => this.changed(c), ctx.logger);
    this.deliveries = new DeliveryLog(path.join(dir, 'builds', 'deliveries.json'));
  }

  private starting?: Promise<void>;

  /** Loads the jobs; recovering interrupted ones (which may talk to registries) goes on in the background. */
  async start(): Promise<void> {
    this.store.load();
    this.starting = this.queue.start().catch((e) => this.ctx.logger.error(`resuming builds failed: ${(e as Error).message}`));
    if (this.opts.pollMs > 0) this.watcher.start(this.opts.pollMs);
  }

  /** Stops polling, starts no new build, and waits for the ones running. */
  async stop(): Promise<void> {
    await this.watcher.stop();
    await this.starting;
    await this.queue.stop();
  }

  idle(): Promise<void> {
    return this.queue.idle();
  }

  /** Each repository some manifest builds from, with the application directories in it. */
  async registered(): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    for (const m of (await this.ctx.cache.get()).manifests.values()) {
      const sl = parseSourceLocation(m.manifest.Source);
      const dirs = out.get(sl.repo) ?? [];
      if (!dirs.includes(sl.dir)) dirs.push(sl.dir);
      out.set(sl.repo, dirs);
    }
    return out;
  }

  private async changed(c: TagChange): Promise<void> {
    if (c.kind === 'deleted') this.cancelTag(c.repo, c.tag, `the tag ${c.tag} was deleted`);
    else if (c.remote) await this.sighted({ repo: c.repo, tag: c.tag, commit: c.remote.commit, trigger: 'poll' });
  }

  /**
   * A tag seen on a registered repository: a job per application of the
   * repository. The same version at the same commit is one job however often
   * it is reported; a version already built is recorded as skipped; a queued
   * job for a tag that now names another commit is superseded.
   */
  async sighted(s: TagSighting): Promise<BuildJob[]> {
    const dirs = (await this.registered()).get(s.repo) ?? [];
    const version = parseVersion(s.tag).raw;
    const built = new Map<string, boolean>();
    for (const dir of dirs) built.set(dir, Boolean(await this.ctx.gdm.artifact({ repo: s.repo, dir }, version)));
    // From here on nothing awaits: two reports of one tag cannot both make a job.
    const out: BuildJob[] = [];
    for (const dir of dirs) {
      const source = formatSourceLocation({ repo: s.repo, dir });
      const same = this.store.list().filter((j) => j.source === source && j.version === version && j.state !== 'cancelled');
      const existing = same.find((j) => j.commit === s.commit);
      if (existing) {
        out.push(existing);
        continue;
      }
      for (const old of same.filter((j) => j.state === 'queued')) this.cancel(old, `superseded: the tag ${s.tag} now names ${s.commit.slice(0, 12)}`);
      const now = new Date().toISOString();
      const job: BuildJob = { id: this.store.newId(), repo: s.repo, offset: dir, source, tag: s.tag, version, commit: s.commit, trigger: s.trigger, ...(s.delivery ? { delivery: s.delivery } : {}), state: 'queued', createdAt: now, updatedAt: now, attempts: 0, interruptions: 0 };
      if (built.get(dir)) {
        Object.assign(job, { state: 'skipped', reason: `${source} ${version} was already built`, finishedAt: now });
        this.store.save(job);
        this.store.log(job.id, `skipped: ${job.reason}`);
      } else {
        this.queue.add(job);
      }
      out.push(job);
    }
    return out;
  }

  private cancel(job: BuildJob, reason: string): void {
    Object.assign(job, { state: 'cancelled', reason, finishedAt: new Date().toISOString() });
    this.store.save(job);
    this.store.log(job.id, `cancelled: ${reason}`);
  }

  /** Cancels the queued jobs of a tag (a running one finds the tag gone when it fetches, or is already past that). */
  cancelTag(repo: string, tag: string, reason: string): BuildJob[] {
    const version = parseVersion(tag).raw;
    const jobs = this.store.list().filter((j) => j.repo === repo && j.version === version && j.tag === tag && j.state === 'queued');
    for (const j of jobs) this.cancel(j, reason);
    return jobs;
  }

  /** The registered repository a payload names, by its name or its configured clone URL. */
  private async repoOf(names: string[]): Promise<string | undefined> {
    for (const repo of (await this.registered()).keys()) {
      if (names.includes(repo)) return repo;
      const url = this.ctx.config.repositories[repo]?.url;
      if (url && names.includes(url)) return repo;
    }
    return undefined;
  }

  /**
   * Takes one GitHub webhook delivery: signature, replay and payload checks,
   * then the tag is checked against the remote (a delivery that no longer
   * says how things are is stale) and becomes jobs, or cancels them.
   */
  async delivery(d: Delivery): Promise<{ status: number; body: Record<string, unknown> }> {
    const secret = this.opts.webhookSecret;
    if (!secret) throw new WebhookRefusal(403, 'WEBHOOKS_DISABLED', 'this server takes no webhooks: it has no webhook secret', ['Set webhookSecret in the operator config (or SOUS_WEBHOOK_SECRET) and restart the server']);
    checkHubSignature(d.raw, d.signature, secret);
    if (!d.id || !/^[A-Za-z0-9._-]{1,128}$/.test(d.id)) throw new WebhookRefusal(400, 'WEBHOOK_MALFORMED', 'the delivery has no usable X-GitHub-Delivery id');
    const ev = parseEvent(d.event, decodeBody(d.raw, d.contentType));
    this.deliveries.take(d.id);
    try {
      return await this.act(ev, d.id);
    } catch (e) {
      // Not acted on through no fault of the sender: the same delivery may come again.
      if (!(e instanceof WebhookRefusal) || e.status >= 500) this.deliveries.forget(d.id);
      throw e;
    }
  }

  private async act(ev: HookEvent, delivery: string): Promise<{ status: number; body: Record<string, unknown> }> {
    if (ev.kind === 'ping') return { status: 200, body: { pong: true } };
    if (ev.kind === 'ignored') return { status: 202, body: { ignored: ev.reason } };
    const repo = await this.repoOf(ev.repoNames);
    if (!repo) return { status: 202, body: { ignored: `no manifest builds from ${ev.repoNames[0]}` } };
    if (!this.watcher.counts(repo, ev.tag)) return { status: 202, body: { ignored: `${ev.tag} is not a semver version` } };
    let remote;
    try {
      remote = (await this.mirrors.lsRemote(repo)).get(ev.tag);
    } catch (e) {
      throw new WebhookRefusal(502, 'REMOTE_UNREACHABLE', `cannot list the tags of ${repo}: ${(e as Error).message}`, ['Check repositories.<repo>.url in the operator config; the delivery can be sent again']);
    }
    if (ev.action === 'deleted') {
      if (remote) throw new WebhookRefusal(409, 'WEBHOOK_STALE', `the delivery says ${ev.tag} was deleted, but ${repo} has it (at ${remote.commit.slice(0, 12)})`);
      this.watcher.remember(repo, ev.tag, undefined);
      return { status: 202, body: { cancelled: this.cancelTag(repo, ev.tag, `the tag ${ev.tag} was deleted`).map((j) => j.id) } };
    }
    if (!remote) throw new WebhookRefusal(409, 'WEBHOOK_STALE', `the delivery announces ${ev.tag}, but ${repo} has no such tag (any more)`);
    if (ev.object && ev.object !== remote.object && ev.object !== remote.commit) {
      throw new WebhookRefusal(409, 'WEBHOOK_STALE', `the delivery says ${ev.tag} is ${ev.object.slice(0, 12)}, but on ${repo} it is ${remote.object.slice(0, 12)} now`);
    }
    this.watcher.remember(repo, ev.tag, remote.object);
    const jobs = await this.sighted({ repo, tag: ev.tag, commit: remote.commit, trigger: 'webhook', delivery });
    return { status: 202, body: { jobs: jobs.map((j) => ({ id: j.id, source: j.source, version: j.version, state: j.state, ...(j.reason ? { reason: j.reason } : {}) })) } };
  }
}
