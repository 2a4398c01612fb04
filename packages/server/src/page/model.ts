import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import {
  formatManifestID,
  intendedDeployments,
  intendedState,
  planActions,
  readHistory,
  RectifyLoop,
  statusDirFor,
  watchStateRefs,
  type AutoDeployPause,
  type DeploymentStatus,
  type DeployState,
  type HistoryEntry,
  type RectifyPlan,
} from '@sous/core';
import type { BuildJob } from '../builds';
import type { ServerContext } from '../context';

/** How one deployment looks on the page: intended against the rectifier's last observation. */
export interface PageRow {
  deploymentID: string;
  cluster: string;
  manifestID: string;
  repo: string;
  intended?: { version: string; instances: number; digest?: string };
  running?: { version: string; instances: number; status: DeployState['status']; message?: string };
  endpoints: string[];
  last?: DeploymentStatus;
  autoDeploy?: string;
  paused?: AutoDeployPause;
  /** Its manifest does not read: what it intends is unknown, and it is left as it runs. */
  unreadable?: boolean;
  /** ok | pending | failed | missing | removed | idle | unreadable */
  state: string;
}

export interface ClusterView {
  name: string;
  kind: string;
  /** When the rectifier last read it; undefined when it never has (since this server started). */
  readAt?: string;
  error?: { code: string; message: string };
  rows: PageRow[];
}

export interface Overview {
  revision: string;
  clusters: ClusterView[];
  /** Manifests the GDM could not read: their deployments are left as they are, and shown as unreadable. */
  unreadable: { manifest: string; file: string; message: string }[];
  /** The last rectify pass of this server, when it rectifies. */
  pass?: { reason: string; startedAt: string; durationMs: number; actions: number; failed: number };
  rectifying: boolean;
}

function stateOf(r: PageRow): string {
  if (r.unreadable) return 'unreadable';
  if (!r.intended) return 'removed';
  if (!r.intended.version && !r.running) return 'idle';
  if (!r.running) return 'missing';
  if (r.running.status === 'Failed') return 'failed';
  if (r.running.version !== r.intended.version || r.running.instances !== r.intended.instances || r.running.status !== 'Active') return 'pending';
  return 'ok';
}

/**
 * What the status page shows, kept from what the server already knows: the
 * GDM (its cached revision), the rectifier's last observation of each cluster,
 * the recorded outcomes and the build jobs. A page view reads no cluster.
 * It says `change` (debounced) whenever one of those moves: a commit to the
 * GDM (watched on disk, whoever made it), an observation, an outcome, a pass,
 * a build. Without an autoresolver the server still observes its clusters
 * (read only) after each change and on the resync interval.
 */
export class PageModel extends EventEmitter {
  /** Goes up with every change. */
  version = 0;
  private timer?: NodeJS.Timeout;
  private closers: (() => Promise<void> | void)[] = [];
  private observer?: RectifyLoop;

  constructor(private readonly ctx: ServerContext) {
    super();
    this.setMaxListeners(0);
  }

  /** Something the page shows may have changed. */
  changed(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.version++;
      this.emit('change', this.version);
    }, 15);
    this.timer.unref();
  }

  async start(resyncMs: number): Promise<void> {
    const ctx = this.ctx;
    ctx.rectifier.onObserved = () => this.changed();
    if (ctx.autoresolver) {
      ctx.autoresolver.onPass = (p) => {
        this.changed();
        // What the actions left behind (new instances, their endpoints) is read once more.
        if (p.outcomes.length) this.observer?.trigger('after actions');
      };
    }
    if (ctx.builds) ctx.builds.store.onChange = (id, what) => (what === 'job' ? this.changed() : this.emit('build-log', id));
    const w = await watchStateRefs(ctx.config.stateLocation, () => {
      ctx.cache.invalidate();
      this.changed();
      this.observer?.trigger('gdm changed');
    });
    this.closers.push(() => w.close());
    // Outcomes written by anyone (a `sous deploy` on this machine too) land in the status directory.
    const dir = statusDirFor(ctx.config.stateLocation);
    fs.mkdirSync(dir, { recursive: true });
    const sw = fs.watch(dir, () => {
      this.changed();
      if (!ctx.autoresolver) this.observer?.trigger('outcome recorded');
    });
    sw.unref();
    this.closers.push(() => sw.close());
    // Passes of the autoresolver observe; without one, a read-only observation does, and after actions an extra one reads their results.
    this.observer = new RectifyLoop(async () => {
      await ctx.rectifier.plan({ clusters: ctx.clusters }).catch((e) => ctx.logger.warn(`observing the clusters failed: ${(e as Error).message}`));
    }, ctx.autoresolver ? 0 : resyncMs);
    // Started (a first read now, then the resync interval) only when no autoresolver reads the clusters anyway.
    if (!ctx.autoresolver) this.observer.start();
    this.closers.push(() => this.observer!.stop());
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    for (const c of this.closers.splice(0)) await c();
  }

  async overview(): Promise<Overview> {
    const ctx = this.ctx;
    const state = await ctx.cache.get();
    const outcomes = new Map((await ctx.rectifier.status.all()).map((o) => [o.id, o]));
    const names = (ctx.clusters ?? Object.keys(state.defs.Clusters ?? {})).slice().sort();
    const rows = new Map<string, PageRow>();
    for (const d of intendedDeployments(state)) {
      if (!names.includes(d.cluster)) continue;
      const raw = state.manifests.get(formatManifestID(d.manifestID))?.manifest.Deployments?.[d.cluster];
      rows.set(d.id, {
        deploymentID: d.id,
        cluster: d.cluster,
        manifestID: formatManifestID(d.manifestID),
        repo: d.manifestID.source.repo,
        intended: { version: d.spec.Version ?? '', instances: d.spec.NumInstances ?? 0, ...(d.spec.Digest ? { digest: d.spec.Digest } : {}) },
        endpoints: [],
        last: outcomes.get(d.id),
        ...(raw?.AutoDeploy ? { autoDeploy: raw.AutoDeploy } : {}),
        ...(raw?.AutoDeployPaused ? { paused: raw.AutoDeployPaused } : {}),
        state: '',
      });
    }
    const clusters: ClusterView[] = names.map((name) => {
      const o = ctx.rectifier.observed.get(name);
      for (const a of o?.deployments ?? []) {
        const row = rows.get(a.id) ?? { deploymentID: a.id, cluster: name, manifestID: formatManifestID(a.manifestID), repo: a.manifestID.source.repo, endpoints: [], last: outcomes.get(a.id), state: '' };
        row.running = { version: a.spec.Version ?? '', instances: a.spec.NumInstances ?? 0, status: a.status, ...(a.message ? { message: a.message } : {}) };
        row.endpoints = a.endpoints ?? [];
        rows.set(a.id, row);
      }
      return { name, kind: state.defs.Clusters?.[name]?.Kind ?? '?', readAt: o?.readAt, ...(o?.error ? { error: o.error } : {}), rows: [] };
    });
    const unreadable = new Set(state.flaws.filter((f) => f.manifest).map((f) => f.manifest!));
    for (const r of rows.values()) {
      if (unreadable.has(r.manifestID)) r.unreadable = true;
      r.state = stateOf(r);
      clusters.find((c) => c.name === r.cluster)?.rows.push(r);
    }
    for (const c of clusters) c.rows.sort((a, b) => a.manifestID.localeCompare(b.manifestID));
    const p = ctx.autoresolver?.lastPass;
    return {
      revision: state.revision,
      clusters,
      unreadable: state.flaws.filter((f) => f.manifest).map((f) => ({ manifest: f.manifest!, file: f.path, message: f.message })),
      rectifying: Boolean(ctx.autoresolver),
      ...(p ? { pass: { reason: p.reason, startedAt: p.startedAt, durationMs: p.durationMs, actions: p.outcomes.length, failed: p.outcomes.filter((o) => o.status === 'Failed').length } } : {}),
    };
  }

  /** One deployment: its row, its history and the builds of its source; undefined when neither intended nor observed. */
  async deployment(id: string): Promise<{ row: PageRow; history: HistoryEntry[]; builds: BuildJob[] } | undefined> {
    const o = await this.overview();
    const row = o.clusters.flatMap((c) => c.rows).find((r) => r.deploymentID === id);
    if (!row) return undefined;
    const state = await this.ctx.cache.get();
    const m = state.manifests.get(row.manifestID);
    const history = await readHistory(this.ctx.gdm, await this.ctx.rectifier.outcomes.read(row.cluster), {
      cluster: row.cluster,
      ...(m ? { manifest: m.id } : { match: (mid, c) => formatManifestID(mid) === row.manifestID && c === row.cluster }),
      limit: 20,
    });
    const source = m?.manifest.Source;
    const builds = (this.ctx.builds?.store.list() ?? []).filter((j) => j.source === source).slice(0, 20);
    return { row, history, builds };
  }

  builds(): BuildJob[] {
    return (this.ctx.builds?.store.list() ?? []).slice(0, 50);
  }

  /** What a rectify would do now, from the GDM and the last observation (no cluster is read for it). */
  async plan(): Promise<{ plan: RectifyPlan; unobserved: string[] }> {
    const ctx = this.ctx;
    const state = await ctx.cache.get();
    const names = ctx.clusters ?? Object.keys(state.defs.Clusters ?? {});
    const read = new Set(names.filter((n) => ctx.rectifier.observed.get(n)?.readAt));
    const actual = [...read].flatMap((n) => ctx.rectifier.observed.get(n)!.deployments);
    const intended = intendedDeployments(state).map(intendedState).filter((d) => names.includes(d.cluster));
    const plan = planActions(intended, actual, { clustersRead: read, prune: (c) => Boolean(state.defs.Clusters?.[c]?.AllowPrune), revision: state.revision });
    for (const n of names) {
      const e = ctx.rectifier.observed.get(n)?.error;
      if (e) plan.errors.push({ cluster: n, code: e.code, message: `cannot read ${n}: ${e.message}` });
    }
    for (const f of state.flaws) {
      if (f.manifest) plan.errors.push({ manifest: f.manifest, file: f.path, code: 'MANIFEST_UNREADABLE', message: `manifest ${f.manifest} cannot be read, so its deployments are left as they are: ${f.message}` });
    }
    return { plan, unobserved: names.filter((n) => !read.has(n)).sort() };
  }
}
