import { isSousError, SousError, usageError } from '../errors';
import { formatManifestID, formatSourceLocation, parseSourceLocation, type ManifestID, type SourceLocation } from '../model/ids';
import { canonicalManifest, checkClustersKnown, clone, expandDeploySpec, manifestIDOf, validateManifest } from '../model/manifest';
import { canonicalDefs, validateDefs } from '../model/defs';
import type { ArtifactRecord, Cluster, Defs, DeploySpec, Manifest } from '../model/types';
import { validateOrThrow } from '../schema';
import { CONFLICT_RETRIES, conflictDelay, sleep } from '../util/async';
import { DEFS_RECORDS, MANIFEST_RECORDS, parseYaml, renderYaml, renderYamlUpdate } from './codec';
import { artifactDir, artifactPath, DEFS_PATH, manifestIDFromPath, manifestPath, MANIFESTS_DIR, SERVERS_PATH } from './layout';
import { GdmStore, type FileChange, type StoreOptions, type User } from './store';

export interface StoredManifest {
  readonly id: ManifestID;
  /** The ManifestID as a string: the key of `State.manifests`. */
  readonly key: string;
  readonly path: string;
  readonly manifest: Manifest;
  /** The file as stored, so a rewrite keeps what did not change. */
  readonly text: string;
  /** The git blob id of the file: a content ETag. */
  readonly blob: string;
}

/** A problem with one file of the state that did not stop the rest from being read. */
export interface StateFlaw {
  path: string;
  code: string;
  message: string;
  /**
   * The manifest (its key) whose file could not be read: it is unknown, not
   * absent, so nothing of it may be created, changed or deleted until it reads again.
   */
  manifest?: string;
}

/** The flaw that made a manifest unreadable, when its file is in the state but could not be read. */
export function unreadableManifest(state: Pick<State, 'flaws'>, key: string): StateFlaw | undefined {
  return state.flaws.find((f) => f.manifest === key);
}

/** The intended state at one revision. */
export interface State {
  readonly revision: string;
  readonly defs: Defs;
  readonly defsText: string;
  /** The git blob id of defs.yaml: a content ETag. */
  readonly defsBlob: string;
  readonly manifests: ReadonlyMap<string, StoredManifest>;
  /** Cluster name → URL of the Sous server that rectifies it (servers.yaml). */
  readonly servers: Readonly<Record<string, string>>;
  readonly flaws: readonly StateFlaw[];
}

/** One intended deployment: a manifest's spec for one cluster, expanded with the cluster's defaults. */
export interface Deployment {
  readonly id: string;
  readonly manifestID: ManifestID;
  readonly cluster: string;
  readonly clusterDef: Cluster;
  readonly kind: Manifest['Kind'];
  readonly owners: string[];
  readonly spec: DeploySpec;
}

/** What an update function returns: the change to write (none for no change) and a result for the caller. */
export interface UpdateStep<T> {
  change?: StateChange;
  result: T;
}

/** A change to the intended state, in the model's terms; written as one commit. */
export interface StateChange {
  message: string;
  defs?: Defs;
  setManifests?: Manifest[];
  deleteManifests?: ManifestID[];
  artifacts?: ArtifactRecord[];
  servers?: Record<string, string>;
  /** Write defs and manifests whole, in the canonical form, rather than merged into the files as they are (`sous plumbing normalizegdm`). */
  rewrite?: boolean;
}

/**
 * Parsed manifests (and their text) by blob id and path: a blob never changes,
 * so neither does its parse; the path is part of the key because the parse
 * checks the manifest against its place.
 */
const parseCache = new Map<string, { parsed: Manifest | SousError; text: string }>();
const cacheKey = (sha: string, p: string) => `${sha}\0${p}`;
const PARSE_CACHE_LIMIT = 50_000;

export function parseManifestText(text: string, file: string, id?: ManifestID): Manifest {
  const { value } = parseYaml(text, file);
  if (id && value && typeof value === 'object' && !Array.isArray(value)) {
    const v = value as Record<string, unknown>;
    if (v.Flavor === undefined && id.flavor) v.Flavor = id.flavor;
  }
  const m = validateManifest(value, file);
  if (id) {
    const mid = formatManifestID(manifestIDOf(m));
    if (mid !== formatManifestID(id)) {
      throw usageError('MANIFEST_PATH_MISMATCH', `${file}: Source ${JSON.stringify(m.Source)}${m.Flavor ? ` with Flavor ${JSON.stringify(m.Flavor)}` : ''} does not match the file's place (${formatManifestID(id)})`, {
        file,
        field: 'Source',
        hints: [`Move the file to manifests/${mid}.yaml, or correct its Source`],
      });
    }
  }
  return m;
}


export function manifestKey(id: ManifestID): string {
  return formatManifestID(id);
}

/**
 * The GDM: the state directory read as Sous's model, and written back one
 * commit per change.
 */
export class Gdm {
  constructor(readonly store: GdmStore) {}

  static async open(location: string, opts: StoreOptions = {}): Promise<Gdm> {
    return new Gdm(await GdmStore.open(location, opts));
  }

  get location(): string {
    return this.store.dir;
  }

  get description(): string {
    return `local state at ${this.store.dir}`;
  }

  identity(): Promise<string | undefined> {
    return this.store.rootCommit();
  }

  async read(opts: { revision?: string } = {}): Promise<State> {
    const revision = opts.revision ?? (await this.store.refresh());
    const entries = await this.store.listFiles(revision, [DEFS_PATH, SERVERS_PATH, MANIFESTS_DIR]);
    // Cached manifests carry their text: only the others are read (one cat-file for all of them).
    const need = entries.filter((e) => e.path === DEFS_PATH || e.path === SERVERS_PATH || !parseCache.has(cacheKey(e.sha, e.path))).map((e) => e.sha);
    const blobs = await this.store.readBlobs(need);
    const textOf = async (sha: string): Promise<string> => {
      const t = blobs.get(sha);
      if (t !== undefined) return t;
      const more = await this.store.readBlobs([sha]);
      return more.get(sha) ?? '';
    };
    const flaws: StateFlaw[] = [];
    const defsEntry = entries.find((e) => e.path === DEFS_PATH);
    const defsText = defsEntry ? await textOf(defsEntry.sha) : '';
    const defs = canonicalDefs(validateDefs(defsText ? parseYaml(defsText, DEFS_PATH).value : {}, DEFS_PATH));
    const serversEntry = entries.find((e) => e.path === SERVERS_PATH);
    const servers = serversEntry ? validateOrThrow<Record<string, string>>('api', parseYaml(await textOf(serversEntry.sha), SERVERS_PATH).value, 'SERVERS_INVALID', { file: SERVERS_PATH, pointer: '/definitions/ServerMap' }) : {};
    const manifests = new Map<string, StoredManifest>();
    for (const e of entries) {
      if (e.path === DEFS_PATH || e.path === SERVERS_PATH || !e.path.endsWith('.yaml')) continue;
      let id: ManifestID | undefined;
      try {
        id = manifestIDFromPath(e.path);
        if (!id) continue;
        let cached = parseCache.get(cacheKey(e.sha, e.path));
        if (!cached) {
          const text = await textOf(e.sha);
          let parsed: Manifest | SousError;
          try {
            parsed = parseManifestText(text, e.path, id);
          } catch (err) {
            parsed = isSousError(err) ? err : new SousError('MANIFEST_INVALID', String(err));
          }
          if (parseCache.size > PARSE_CACHE_LIMIT) parseCache.clear();
          cached = { parsed, text };
          parseCache.set(cacheKey(e.sha, e.path), cached);
        }
        const { parsed, text } = cached;
        if (parsed instanceof SousError || isSousError(parsed)) throw parsed;
        const key = manifestKey(id);
        manifests.set(key, { id, key, path: e.path, manifest: clone(parsed), text, blob: e.sha });
      } catch (err) {
        const se = isSousError(err) ? err : new SousError('MANIFEST_INVALID', String(err));
        flaws.push({ path: e.path, code: se.code, message: se.message, ...(id ? { manifest: manifestKey(id) } : {}) });
      }
    }
    for (const m of manifests.values()) {
      for (const c of Object.keys(m.manifest.Deployments ?? {})) {
        if (!defs.Clusters?.[c]) flaws.push({ path: m.path, code: 'UNKNOWN_CLUSTER', message: `${m.path}: cluster ${JSON.stringify(c)} is not defined in defs.yaml` });
      }
    }
    return { revision, defs, defsText, defsBlob: defsEntry?.sha ?? '', manifests, servers, flaws };
  }

  /** The file change that stores `manifest` (validated, in the original's layout and spelling). */
  manifestChange(state: State, manifest: Manifest, rewrite = false): FileChange {
    const m = validateManifest(clone(manifest));
    checkClustersKnown(m, state.defs.Clusters ?? {});
    const id = manifestIDOf(m);
    const p = manifestPath(id);
    const existing = state.manifests.get(manifestKey(id));
    const canonical = canonicalManifest(m);
    const content = existing && !rewrite ? renderYamlUpdate(existing.text, canonical, MANIFEST_RECORDS) : renderYaml(canonical);
    return { path: p, content };
  }

  manifestDeletion(id: ManifestID): FileChange {
    return { path: manifestPath(id), content: null };
  }

  defsChange(state: State, defs: Defs, rewrite = false): FileChange {
    const d = canonicalDefs(validateDefs(clone(defs)));
    return { path: DEFS_PATH, content: state.defsText && !rewrite ? renderYamlUpdate(state.defsText, d, DEFS_RECORDS) : renderYaml(d) };
  }

  /** Turns a model-level change into the files that store it. */
  filesFor(state: State, change: StateChange): FileChange[] {
    const files: FileChange[] = [];
    if (change.defs) files.push(this.defsChange(state, change.defs, change.rewrite));
    const stateForManifests = change.defs ? { ...state, defs: canonicalDefs(validateDefs(clone(change.defs))) } : state;
    for (const m of change.setManifests ?? []) files.push(this.manifestChange(stateForManifests, m, change.rewrite));
    for (const id of change.deleteManifests ?? []) {
      if (!state.manifests.has(manifestKey(id))) throw usageError('MANIFEST_NOT_FOUND', `no manifest ${manifestKey(id)} in the GDM`, { hints: ['List them with: sous query gdm'] });
      files.push(this.manifestDeletion(id));
    }
    for (const a of change.artifacts ?? []) files.push(this.artifactChange(a));
    if (change.servers) {
      const servers = validateOrThrow<Record<string, string>>('api', clone(change.servers), 'SERVERS_INVALID', { what: 'servers', pointer: '/definitions/ServerMap' });
      const sorted = Object.fromEntries(Object.keys(servers).sort().map((k) => [k, servers[k]]));
      files.push({ path: SERVERS_PATH, content: renderYaml(sorted) });
    }
    return files;
  }

  /**
   * Reads, lets `fn` compute a change, and writes it as one commit. When another
   * writer changed the same files in between, reads again and calls `fn` again
   * (up to `retries` times), so no accepted change is ever lost.
   */
  async update<T>(fn: (state: State) => UpdateStep<T> | Promise<UpdateStep<T>>, user: User, opts: { retries?: number } = {}): Promise<{ result: T; revision: string; changed: boolean }> {
    const retries = opts.retries ?? CONFLICT_RETRIES;
    for (let attempt = 0; ; attempt++) {
      const state = await this.read();
      const { change, result } = await fn(state);
      const files = change ? this.filesFor(state, change) : [];
      if (!change || files.length === 0) return { result, revision: state.revision, changed: false };
      // A manifest is only valid against the clusters defs.yaml had when it was checked.
      // A defs change was checked against every manifest that uses its clusters.
      const reads = [...((change.setManifests?.length ?? 0) > 0 ? [DEFS_PATH] : []), ...(change.defs ? [MANIFESTS_DIR + '/'] : [])];
      try {
        const w = await this.store.write(files, { base: state.revision, user, message: change.message, reads });
        return { result, revision: w.revision, changed: w.changed };
      } catch (e) {
        if (isSousError(e) && e.code === 'GDM_CONFLICT' && attempt < retries) {
          await sleep(conflictDelay(attempt));
          continue;
        }
        throw e;
      }
    }
  }

  async artifacts(source: SourceLocation, revision?: string): Promise<ArtifactRecord[]> {
    const rev = revision ?? (await this.store.headFast());
    const dir = artifactDir(source);
    const entries = await this.store.listFiles(rev, [dir]);
    const direct = entries.filter((e) => !e.path.slice(dir.length + 1).includes('/'));
    const blobs = await this.store.readBlobs(direct.map((e) => e.sha));
    return direct.map((e) => parseArtifact(blobs.get(e.sha) ?? '', e.path));
  }

  async allArtifacts(revision?: string): Promise<ArtifactRecord[]> {
    const rev = revision ?? (await this.store.headFast());
    const entries = await this.store.listFiles(rev, ['artifacts']);
    const blobs = await this.store.readBlobs(entries.map((e) => e.sha));
    return entries.map((e) => parseArtifact(blobs.get(e.sha) ?? '', e.path));
  }

  async artifact(source: SourceLocation, version: string, revision?: string): Promise<ArtifactRecord | undefined> {
    const rev = revision ?? (await this.store.headFast());
    const text = await this.store.readFile(rev, artifactPath(source, version));
    return text === undefined ? undefined : parseArtifact(text, artifactPath(source, version));
  }

  artifactChange(record: ArtifactRecord): FileChange {
    const r = validateOrThrow<ArtifactRecord>('artifact', clone(record), 'ARTIFACT_INVALID', { what: 'artifact record' });
    return { path: artifactPath(parseSourceLocation(r.Source), r.Version), content: renderYaml(r) };
  }
}

function parseArtifact(text: string, file: string): ArtifactRecord {
  return validateOrThrow<ArtifactRecord>('artifact', parseYaml(text, file).value, 'ARTIFACT_INVALID', { file });
}

/** Every intended deployment in the state, expanded with its cluster's defaults. */
export function intendedDeployments(state: State): Deployment[] {
  const out: Deployment[] = [];
  const clusters = state.defs.Clusters ?? {};
  for (const m of state.manifests.values()) {
    for (const [cluster, spec] of Object.entries(m.manifest.Deployments ?? {})) {
      const clusterDef = clusters[cluster];
      if (!clusterDef) continue;
      out.push({
        id: `${cluster}:${m.key}`,
        manifestID: m.id,
        cluster,
        clusterDef,
        kind: m.manifest.Kind,
        owners: m.manifest.Owners ?? [],
        spec: expandDeploySpec(spec, clusterDef),
      });
    }
  }
  return out;
}

