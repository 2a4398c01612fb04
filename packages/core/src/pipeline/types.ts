import type { SousError } from '../errors';
/**
 * The values that flow through Sous's hooks. Plugins read and return these;
 * core orchestrates and knows no stack, engine, scheduler or notifier by name.
 */
import type { Cluster, DeploySpec, Manifest } from '../model/types';
import type { ManifestID } from '../model/ids';
import type { ResolvedConfig } from '../config/types';

/** Qualities that make an image suspect (the original's advisories). */
export const ADVISORIES = {
  dirtyWorkspace: 'dirty workspace',
  unpushedRevision: 'unpushed revision',
  noRepository: 'no repository',
  noVersionedTag: 'no versioned tag',
  tagMismatch: 'tag mismatch',
  tagNotHead: 'tag not on built revision',
  ephemeralTag: 'ephemeral tag',
  bogusRevision: 'bogus revision',
  developerBuild: 'developer build',
  // The original's others (lib/advisories.go): images it did not build from a tagged source.
  supportContainer: 'support container',
  buildImage: 'is a build image',
  sourceWorkspaceLackedRepo: 'source workspace lacked repo',
  revisionNotBuilt: 'requested revision not built',
  /** An image registered with `sous artifact add` rather than built by Sous. */
  addedArtifact: 'added artifact',
} as const;
export type Advisory = (typeof ADVISORIES)[keyof typeof ADVISORIES] | string;

/** What git says about the source being built. */
export interface SourceContext {
  /** Normalised repository, e.g. github.com/acme/shop. */
  repo: string;
  /** Directory of the application inside the repository ('' at the root). */
  offset: string;
  /** The top of the git work tree the facts were read from. */
  rootDir: string;
  /** The directory holding the application's sources (rootDir + offset, or a clean checkout of the tag). */
  sourceDir: string;
  revision: string;
  /** The version being built (from --tag or the semver tag on HEAD), without a leading v. */
  version?: string;
  /** The git tag the version came from, as written (may have a leading v). */
  tag?: string;
  /** Semver tags that point at the revision. */
  tagsOnRevision: string[];
  /** The commit's time (ISO 8601), used as the image's creation time. */
  commitTime: string;
  author?: { name: string; email: string };
  dirty: boolean;
  pushed: boolean;
  remoteURL?: string;
  advisories: Advisory[];
  /** True when built from a temporary clean checkout of the tag. */
  cleanCheckout: boolean;
}

export interface SourceRequest {
  dir: string;
  tag?: string;
  dev?: boolean;
  offset?: string;
  repo?: string;
}

/** The sources a stack looks at: detection and planning read files here. */
export interface Workspace {
  dir: string;
  context: SourceContext;
  config: ResolvedConfig;
}

/** How to build one image: what a stack plugin hands the builder. */
export interface BuildPlan {
  stack: string;
  /** The Dockerfile to build with (rendered from templates/, or the repository's own). */
  dockerfile: string;
  /** Files the build context is made of, relative to contextDir; all files when undefined. */
  contextDir: string;
  /** Extra files put into the build context (path → content), e.g. CA bundles. */
  extraFiles: Record<string, string | Buffer>;
  buildArgs: Record<string, string>;
  /** BuildKit secrets (id → file path) mounted into steps that fetch packages, never into the image. */
  secrets: Record<string, string>;
  target?: string;
  labels: Record<string, string>;
  /** Inputs that decide the result besides the sources (base image digests, tool versions). */
  inputs: Record<string, string>;
  /** The command the image runs, for display. */
  command?: string[];
  /** Files excluded from the build context. */
  ignore: string[];
}

export interface BuildRequest {
  workspace: Workspace;
  plan: BuildPlan;
  /** Image names to tag the result with (registry/name:tag). */
  tags: string[];
  contentKey: string;
  onProgress?: (p: Progress) => void;
}

export interface Progress {
  phase: string;
  message: string;
  /** 0..1 when known. */
  fraction?: number;
}

export interface BuiltImage {
  /** The engine's image id (sha256:...). */
  id: string;
  /** registry/name, without tag. */
  name: string;
  tags: string[];
  labels: Record<string, string>;
  contentKey: string;
  /** Set when the image came from the build cache instead of a build. */
  cachedFrom?: string;
  /** The pushed manifest digest, once published. */
  digest?: string;
}

export type ContractStatus = 'passed' | 'failed' | 'warning' | 'skipped';

export interface ContractResult {
  name: string;
  status: ContractStatus;
  expected?: string;
  actual?: string;
  message?: string;
  durationMs: number;
  logs?: string[];
}

export interface ContractReport {
  image: BuiltImage;
  kind: Manifest['Kind'];
  manifest?: Manifest;
  /** The cluster definitions (defs.yaml), so contracts can expand the manifest's deployments with their clusters' defaults. */
  clusters?: Record<string, Cluster>;
  results: ContractResult[];
}

/** A built, published image of one version: what `artifactReady` announces. */
export interface Artifact {
  source: SourceContext;
  image: BuiltImage;
  /** registry/name@sha256:... */
  reference: string;
  digest: string;
  contracts: ContractResult[];
  signature?: { tag: string; digest: string; keyId: string };
  precache: Record<string, { registry: string; status: 'copied' | 'present' | 'failed' | 'skipped'; message?: string; bytesSent?: number }>;
  manifest?: Manifest;
  /** The clusters the application's manifests deploy to, with each cluster's own registry when it has one. */
  targets: { cluster: string; registry?: string }[];
  timings: Record<string, number>;
}

export interface VerifyRequest {
  manifestID: ManifestID;
  cluster: string;
  clusterDef: Cluster;
  version: string;
  digest?: string;
  image?: string;
  advisories: string[];
  force?: boolean;
}

export interface VerifyCheck {
  name: string;
  ok: boolean;
  code?: string;
  message: string;
}

export interface VerifyReport {
  checks: VerifyCheck[];
  /** The digest the image was verified as. */
  digest?: string;
  image?: string;
}

export interface UpdateRequest {
  manifestID: ManifestID;
  cluster: string;
  version: string;
  digest?: string;
  user: { name: string; email: string };
}

/** A deployment as a scheduler reports it, or as the GDM intends it. */
export interface DeployState {
  id: string;
  manifestID: ManifestID;
  cluster: string;
  kind: Manifest['Kind'];
  owners: string[];
  spec: DeploySpec;
  status: 'Pending' | 'Active' | 'Failed' | 'Unknown';
  message?: string;
  schedulerURL?: string;
  /** Anything the scheduler needs to find the deployment again (service id, container ids). */
  ref?: Record<string, unknown>;
  /** Where the running instances answer (http://host:port/), when the scheduler knows. */
  endpoints?: string[];
  /**
   * Spec fields the scheduler cannot see for this deployment (a deploy the
   * original Sous made never sent `Metadata`): the plan takes the intended
   * value for them instead of calling them changed.
   */
  unobserved?: (keyof DeploySpec)[];
  /**
   * The deployment's secrets as keyed hashes, by variable name (never values):
   * for an intended deployment, of the values resolved now; for an actual one,
   * of the values it was deployed with, as its scheduler keeps them.
   */
  secrets?: Record<string, string>;
}

export type ActionKind = 'create' | 'update' | 'scale' | 'delete' | 'report-removed';

export interface Action {
  kind: ActionKind;
  deploymentID: string;
  cluster: string;
  /** Why, in words: "version 1.2.0 → 1.3.0", "instances 1 → 3", "not intended any more". */
  reason: string;
  prior?: DeployState;
  post?: DeployState;
  /** Redeploy even when nothing changed (`--force`). */
  force?: boolean;
  /** Known to fail before the scheduler is asked (a secret that cannot be read): the outcome is Failed with this. */
  refused?: { code: string; message: string };
}

export interface ActionOutcome {
  action: Action;
  resolution: 'unchanged' | 'coming' | 'created' | 'updated' | 'deleted' | 'not created' | 'not updated' | 'not deleted' | 'held';
  status: 'Pending' | 'Active' | 'Failed';
  message?: string;
  attempts: number;
  durationMs: number;
}

export interface PlanError {
  code?: string;
  message: string;
  cluster?: string;
  /** The key of a manifest the GDM could not read. */
  manifest?: string;
  /** That manifest's file in the state repository. */
  file?: string;
  /** The one deployment concerned (a version whose image could not be found). */
  deploymentID?: string;
}

export interface RectifyPlan {
  actions: Action[];
  unchanged: string[];
  /** Changes not attempted: failed too often in a row, until the intended state changes or --force. */
  held: { action: Action; failures: number; lastError: string }[];
  /**
   * What the plan could not see, so left alone this pass: a cluster whose actual
   * state could not be read (`cluster`), or a manifest whose file could not be
   * read (`manifest` and `file`: its deployments are neither created, changed nor
   * deleted). A plan with errors is incomplete: plan and rectify exit non-zero.
   */
  errors: PlanError[];
  /** The GDM revision the plan was made from. */
  revision: string;
  /**
   * Image digests the GDM lacks (a version the original Sous wrote), found for
   * this pass; a rectify writes them into the GDM as one commit, a plan only
   * says so. A deployment whose digest could not be found is in `errors`.
   */
  pins?: DigestPin[];
}

/** A digest found for a deployment whose GDM entry has a version but no digest. */
export interface DigestPin {
  deploymentID: string;
  cluster: string;
  manifestID: string;
  version: string;
  digest: string;
  /** The repository the digest is in, when it is not the one Sous names the application's images by. */
  image?: string;
  /** `running`: the deploy of that very build already on the cluster; `registry`: the version tag, checked against the image's revision label. */
  from: 'running' | 'registry';
}

export interface RectifyResult {
  plan: RectifyPlan;
  outcomes: ActionOutcome[];
  startedAt: string;
  durationMs: number;
}

/** Options for carrying out one action. */
export interface ApplyOptions {
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  /** Give up waiting for readiness after this long (the action itself may still go on in the scheduler). */
  timeoutMs: number;
  /**
   * The values of the deployment's secrets, by variable name, for the scheduler
   * to hand to its instances its own way. Never to be logged, labelled, or kept
   * where the scheduler's state can be read back.
   */
  secrets?: Readonly<Record<string, string>>;
  /**
   * What the scheduler may keep of the intended deployment where it reads its
   * spec back (labels, annotations, metadata): Env values and secrets as keyed
   * hashes (core's `storedView`). Given by the rectifier.
   */
  stored?: StoredView;
}

/** An intended deployment as a scheduler may keep it where others can read it. */
export interface StoredView {
  /** The spec with each Env value replaced by its keyed hash; Secrets holds references only. */
  spec: DeploySpec;
  /** The secrets' keyed hashes, by variable name. */
  secrets?: Record<string, string>;
  /** core's intentHash of the deployment, over the sealed spec. */
  intent: string;
}

/** Where a secret reference's value comes from: one provider (file, env, command, or a plugin's). */
export interface SecretProvider {
  /**
   * The values of these keys; a key the provider does not have is left out of
   * the map, and a key it could not read maps to its error (SECRET_PROVIDER_FAILED,
   * naming provider and key, never a value). Throws when it cannot answer at all.
   */
  read(keys: readonly string[]): Promise<Map<string, string | SousError>>;
}

/** A lease on a cluster: while held, no other rectifier acts on it. */
export interface Lease {
  readonly holder: string;
  /** Extends the lease; false when it was lost. */
  renew(): Promise<boolean>;
  release(): Promise<void>;
}

/**
 * What a scheduler plugin offers for one cluster. `actual()` must be
 * derivable from the scheduler alone (labels, annotations), so a restarted
 * rectifier with no memory converges and never duplicates work.
 */
export interface Scheduler {
  readonly kind: string;
  /** Everything Sous deployed on this cluster, as it really is. */
  actual(): Promise<DeployState[]>;
  /**
   * Carries out one action and waits until the deployment is ready (Active),
   * has failed (Failed, with the scheduler's message), or `timeoutMs` passed
   * (Pending). Throws a SousError with `details.retryable` for transient errors.
   */
  apply(action: Action, opts: ApplyOptions): Promise<ActionOutcome>;
  /**
   * Takes the cluster's lease for `ttlMs`, or resolves undefined when another
   * holder has it. Schedulers without one get a file lock from core.
   */
  lease?(holder: string, ttlMs: number): Promise<Lease | undefined>;
  /** The last log lines of a deployment's instances, for failure reports. */
  logs?(deploymentID: string, lines: number): Promise<string[]>;
  /**
   * The application's output (`sous logs`): every instance's lines, each
   * naming its instance; without `follow` the stream ends with the last line
   * written so far, with it the stream goes on until `signal` aborts or the
   * instances end. Throws INSTANCE_NOT_FOUND for an instance it does not
   * have, NO_INSTANCES when the deployment runs none.
   */
  streamLogs?(deploymentID: string, req: LogRequest): AsyncIterable<LogLine>;
  close?(): Promise<void>;
}

/** What `sous logs` asks of a scheduler. */
export interface LogRequest {
  /** Keep streaming lines as they are written, until `signal` aborts. */
  follow?: boolean;
  /** Only lines written at or after this time (ms since the epoch). */
  since?: number;
  /** Only the last this many lines of each instance (before following). */
  tail?: number;
  /** Only this instance: its name as the lines give it, or the start of its id. */
  instance?: string;
  signal?: AbortSignal;
}

/** One line of an application's output. */
export interface LogLine {
  /** The instance that wrote it (a container, task, pod or Singularity task). */
  instance: string;
  stream?: 'stdout' | 'stderr';
  /** When it was written (ISO 8601), when the scheduler says. */
  time?: string;
  text: string;
}

export interface ClusterRef {
  name: string;
  def: Cluster;
  /**
   * The identity of the GDM the rectifier works for (its state repository's
   * root commit, shared by every clone). A scheduler whose cluster can be
   * shared by several independent GDMs (one Docker engine, say) marks what it
   * creates with it and leaves what another GDM made alone.
   */
  gdm?: string;
}

/** A typed event (the catalogue lives in schemas/events.schema.json). */
export interface SousEvent {
  type: string;
  time: string;
  [field: string]: unknown;
}
