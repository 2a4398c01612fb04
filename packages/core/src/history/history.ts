import { git } from '../gdm/git';
import { manifestIDFromPath, manifestPath, MANIFESTS_DIR } from '../gdm/layout';
import { manifestKey, parseManifestText, type Gdm, type State } from '../gdm/state';
import { checkCluster, findManifest } from '../ops/manifests';
import { formatManifestID, type ManifestID } from '../model/ids';
import { canonicalDeploySpec } from '../model/manifest';
import type { DeploySpec, Manifest } from '../model/types';
import type { OutcomeRecord } from '../rectify/outcomes';
import { comparableJSON } from '../util/json';

/** Why a deployment changed. */
export type ChangeKind = 'register' | 'deploy' | 'rollback' | 'auto-deploy' | 'pin' | 'scale' | 'metadata' | 'pause' | 'resume' | 'config' | 'remove';

/** One side of a change: what the deployment asked for. */
export interface HistorySide {
  version: string;
  digest?: string;
  instances: number;
}

/** One change of one deployment, from the GDM's log, with how the rectifier carried it out. */
export interface HistoryEntry {
  deploymentID: string;
  manifestID: string;
  cluster: string;
  /** The GDM commit. */
  revision: string;
  /** When it was committed (ISO 8601). */
  at: string;
  who: { name: string; email: string };
  kind: ChangeKind;
  /** The commit's subject line. */
  message: string;
  from?: HistorySide;
  to?: HistorySide;
  /** The fields that changed (version, digest, instances, env, metadata, ...). */
  changed: string[];
  /** The last outcome of the rectify actions that carried this change out; null when none did (yet). */
  outcome: { status: 'Pending' | 'Active' | 'Failed'; resolution: string; message?: string; at: string } | null;
}

export interface HistoryQuery {
  /** Only this manifest's deployments. */
  manifest?: ManifestID;
  cluster?: string;
  /** Only deployments matching this (for repo/offset filters without a full ManifestID). */
  match?: (manifestID: ManifestID, cluster: string) => boolean;
  /** At most this many entries (default 20). */
  limit?: number;
}

/** Commit trailers Sous writes into the messages of the changes it makes on purpose. */
export const TRAILER_CHANGE = 'Sous-Change';
export const TRAILER_ROLLBACK_FROM = 'Sous-Rollback-From';

interface RawCommit {
  revision: string;
  author: string;
  email: string;
  date: string;
  subject: string;
  trailers: Record<string, string>;
  files: { path: string; before: string | null; after: string | null }[];
}

const ZERO = /^0+$/;
/** Commits read at a time: a few more than the entries asked for (most commits make one entry), at most this many. */
const MAX_PAGE = 200;

function unquote(p: string): string {
  if (!p.startsWith('"')) return p;
  try {
    return JSON.parse(p) as string;
  } catch {
    return p.slice(1, -1);
  }
}

/** One page of the branch's first-parent log that touched `paths`, with each commit's changed blobs. */
async function logPage(gdm: Gdm, paths: string[], skip: number, size: number): Promise<RawCommit[]> {
  const r = await git(gdm.location, [
    'log',
    '--first-parent',
    '--diff-merges=first-parent',
    '--raw',
    '--no-abbrev',
    '--no-renames',
    `--skip=${skip}`,
    `-n${size}`,
    '--format=%x1e%H%x1f%an%x1f%ae%x1f%aI%x1f%s%x1f%(trailers:only,unfold)%x1d',
    gdm.store.branch,
    '--',
    ...paths,
  ]);
  const out: RawCommit[] = [];
  for (const rec of r.stdout.split('\x1e')) {
    if (!rec.trim()) continue;
    const end = rec.indexOf('\x1d');
    const [revision, author, email, date, subject, trailerText] = rec.slice(0, end).split('\x1f');
    const trailers: Record<string, string> = {};
    for (const line of (trailerText ?? '').split('\n')) {
      const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line.trim());
      if (m) trailers[m[1]] = m[2];
    }
    const files: RawCommit['files'] = [];
    for (const line of rec.slice(end + 1).split('\n')) {
      // :100644 100644 <before> <after> M\t<path>
      const m = /^:\d+ \d+ ([0-9a-f]+) ([0-9a-f]+) [A-Z]\d*\t(.+)$/.exec(line.trim());
      if (m) files.push({ path: unquote(m[3]), before: ZERO.test(m[1]) ? null : m[1], after: ZERO.test(m[2]) ? null : m[2] });
    }
    out.push({ revision, author, email, date, subject, trailers, files });
  }
  return out;
}

const parsed = new Map<string, Manifest | null>();

function parseBlob(sha: string | null, text: string | undefined, file: string): Manifest | null {
  if (!sha) return null;
  const key = `${sha}\0${file}`;
  if (parsed.has(key)) return parsed.get(key)!;
  let m: Manifest | null = null;
  try {
    m = text === undefined ? null : parseManifestText(text, file, manifestIDFromPath(file));
  } catch {
    // A manifest that did not parse at this commit says nothing about its deployments.
    m = null;
  }
  if (parsed.size > 20_000) parsed.clear();
  parsed.set(key, m);
  return m;
}

function side(s: DeploySpec): HistorySide {
  return { version: s.Version ?? '', ...(s.Digest ? { digest: s.Digest } : {}), instances: s.NumInstances ?? 0 };
}

const FIELDS: (keyof DeploySpec)[] = ['Version', 'Digest', 'Image', 'NumInstances', 'Resources', 'Env', 'Metadata', 'Args', 'Volumes', 'Startup', 'Schedule', 'AutoDeploy', 'AutoDeployPaused', 'SingularityRequestID'];

/** What changed in one deployment between two specs, and why, in the history's words. */
function classify(before: DeploySpec | undefined, after: DeploySpec | undefined, trailers: Record<string, string>): { kind: ChangeKind; changed: string[] } | undefined {
  if (!before && !after) return undefined;
  if (!before) return { kind: 'register', changed: ['deployment'] };
  if (!after) return { kind: 'remove', changed: ['deployment'] };
  const a = canonicalDeploySpec(before) as Record<string, unknown>;
  const b = canonicalDeploySpec(after) as Record<string, unknown>;
  const changed = FIELDS.filter((f) => comparableJSON(a[f] ?? null) !== comparableJSON(b[f] ?? null)).map((f) => (f === 'NumInstances' ? 'instances' : f === 'AutoDeployPaused' ? 'autodeploy-pause' : f.toLowerCase()));
  if (!changed.length) return undefined;
  const said = trailers[TRAILER_CHANGE];
  // A version that had no digest getting the one it runs as (the rectifier pins what the original Sous deployed): nothing new runs.
  if (!changed.includes('version') && !before.Digest && after.Digest && changed.every((c) => c === 'digest' || c === 'image')) return { kind: 'pin', changed };
  if (changed.includes('version') || changed.includes('digest')) {
    return { kind: said === 'rollback' ? 'rollback' : said === 'auto-deploy' ? 'auto-deploy' : 'deploy', changed };
  }
  if (changed.includes('instances')) return { kind: 'scale', changed };
  if (changed.length === 1 && changed[0] === 'autodeploy-pause') return { kind: after.AutoDeployPaused ? 'pause' : 'resume', changed };
  if (changed.length === 1 && changed[0] === 'metadata') return { kind: 'metadata', changed };
  return { kind: 'config', changed };
}

/**
 * Each change of the deployments in scope, newest first: the GDM's git log
 * (first parent) of the manifest files, each commit's manifests before and
 * after compared per cluster, joined with the rectifier's outcomes. An
 * outcome belongs to the newest change of its deployment that the revision
 * it was planned from contains.
 */
export async function readHistory(gdm: Gdm, outcomes: OutcomeRecord[], q: HistoryQuery = {}): Promise<HistoryEntry[]> {
  const limit = q.limit ?? 20;
  const paths = q.manifest ? [manifestPath(q.manifest)] : [MANIFESTS_DIR + '/'];
  const entries: HistoryEntry[] = [];
  let all = false;
  const size = Math.min(MAX_PAGE, limit + 10);
  for (let skip = 0; entries.length < limit && !all; skip += size) {
    const page = await logPage(gdm, paths, skip, size);
    all = page.length < size;
    const shas = [...new Set(page.flatMap((c) => c.files.flatMap((f) => [f.before, f.after].filter((s): s is string => !!s && !parsed.has(`${s}\0${f.path}`)))))];
    const blobs = await gdm.store.readBlobs(shas);
    for (const c of page) {
      for (const f of c.files) {
        const id = manifestIDFromPath(f.path);
        if (!id) continue;
        if (q.manifest && manifestKey(id) !== manifestKey(q.manifest)) continue;
        const before = parseBlob(f.before, f.before ? blobs.get(f.before) : undefined, f.path);
        const after = parseBlob(f.after, f.after ? blobs.get(f.after) : undefined, f.path);
        if ((f.before && !before) || (f.after && !after)) continue;
        const clusters = [...new Set([...Object.keys(before?.Deployments ?? {}), ...Object.keys(after?.Deployments ?? {})])].sort();
        for (const cluster of clusters) {
          if (q.cluster && cluster !== q.cluster) continue;
          if (q.match && !q.match(id, cluster)) continue;
          const b = before?.Deployments?.[cluster];
          const a = after?.Deployments?.[cluster];
          const what = classify(b, a, c.trailers);
          if (!what) continue;
          const mid = formatManifestID(id);
          entries.push({
            deploymentID: `${cluster}:${mid}`,
            manifestID: mid,
            cluster,
            revision: c.revision,
            at: new Date(c.date).toISOString(),
            who: { name: c.author, email: c.email },
            kind: what.kind,
            message: c.subject,
            ...(b ? { from: side(b) } : {}),
            ...(a ? { to: side(a) } : {}),
            changed: what.changed,
            outcome: null,
          });
        }
      }
    }
  }
  const kept = entries.slice(0, limit);
  await joinOutcomes(gdm, kept, outcomes);
  return kept;
}

/** Gives each entry the last outcome that carried it out. */
async function joinOutcomes(gdm: Gdm, entries: HistoryEntry[], outcomes: OutcomeRecord[]): Promise<void> {
  if (!entries.length) return;
  const ids = new Set(entries.map((e) => e.deploymentID));
  const relevant = outcomes.filter((o) => ids.has(o.id));
  if (!relevant.length) return;
  // Positions in the first-parent log, newest first: an outcome belongs to the newest change at or below its revision's position.
  // Only the part of the log the entries span is listed: outcomes of older changes fall outside it and are left out.
  const oldest = entries[entries.length - 1].revision;
  const since = await git(gdm.location, ['rev-list', '--first-parent', gdm.store.branch, `^${oldest}^`], { reject: false });
  const revs = (since.exitCode === 0 ? since : await git(gdm.location, ['rev-list', '--first-parent', gdm.store.branch])).stdout.split('\n');
  const pos = new Map(revs.map((r, i) => [r.trim(), i]));
  const byDeployment = new Map<string, HistoryEntry[]>();
  for (const e of entries) byDeployment.set(e.deploymentID, [...(byDeployment.get(e.deploymentID) ?? []), e]);
  for (const o of relevant) {
    const list = byDeployment.get(o.id)!;
    const at = pos.get(o.revision);
    // Entries are newest first; the first one at or below the outcome's revision is the change it carried out.
    const e = at !== undefined ? list.find((x) => (pos.get(x.revision) ?? Infinity) >= at) : list.find((x) => Date.parse(x.at) <= Date.parse(o.at));
    if (!e) continue;
    // A change that only paused or described the deployment asked nothing of the scheduler; what ran is the change before it.
    if (e.to && o.version !== undefined && o.version !== e.to.version) continue;
    if (!e.outcome || e.outcome.at <= o.at) e.outcome = { status: o.status, resolution: o.resolution, ...(o.message ? { message: o.message } : {}), at: o.at };
  }
}

/**
 * `sous history`: readHistory with its refusals: an unknown cluster, and a
 * manifest that neither is in the GDM nor ever was.
 */
export async function deploymentHistory(gdm: Gdm, outcomes: OutcomeRecord[], q: HistoryQuery & { state: State }): Promise<HistoryEntry[]> {
  if (q.cluster && !q.state.defs.Clusters?.[q.cluster]) checkCluster(q.state, q.cluster);
  const entries = await readHistory(gdm, outcomes, q);
  if (q.manifest && !entries.length && !q.state.manifests.has(manifestKey(q.manifest))) findManifest(q.state, q.manifest);
  return entries;
}
