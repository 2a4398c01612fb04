/* eslint-disable */
// Generated from schemas/ by scripts/gen-types.js. Do not edit by hand: edit the schema and run `npm run gen:types`.

/**
 * The event catalogue: what Sous tells notifiers. A discriminated union on `type`; every event has an id (for de-duplication), a time, the deployment (manifestID; cluster and deploymentID when it concerns one cluster), the version, the user, and links.
 */
export type TypedEvent =
  | BuildStartedEvent
  | BuildFailedEvent
  | ContractFailedEvent
  | ArtifactReadyEvent
  | DeployRequestedEvent
  | DeploySucceededEvent
  | DeployFailedEvent
  | RectifyDriftEvent
  | RectifyHeldEvent
  | RectifyRemovedEvent;

/**
 * A build of a tagged version began.
 */
export interface BuildStartedEvent {
  /**
   * Unique per event: receivers drop an event whose id they have seen. Filled by emitEvent.
   */
  id: string;
  /**
   * The event type (the discriminant).
   */
  type: 'build.started';
  /**
   * When it happened, ISO 8601 in UTC. Filled by emitEvent.
   */
  time: string;
  /**
   * The application: repo[,dir][~flavor], e.g. github.com/acme/shop or github.com/acme/mono,api~canary.
   */
  manifestID: string;
  /**
   * The cluster, when the event concerns one.
   */
  cluster?: string;
  /**
   * cluster:manifestID, when the event concerns one cluster.
   */
  deploymentID?: string;
  /**
   * The version (semver, without a leading v).
   */
  version: string;
  /**
   * The manifest's Owners (e-mail addresses), when known; routing rules match on them.
   */
  owners?: string[];
  user: EventUser;
  links: EventLinks;
  source: EventSource;
  /**
   * The stack building it (node, go, java, dockerfile), once detected.
   */
  stack?: string;
  /**
   * Qualities that make the build suspect (dirty workspace, unpushed revision, ...).
   */
  advisories?: string[];
}
/**
 * Who the event is about: the tag's author for build events, the deploying user for deploy events, the last writer of the manifest (or the server's user) for rectify events. emitEvent fills it from the configured user when absent.
 */
export interface EventUser {
  name: string;
  email: string;
}
/**
 * Where to look: named URLs. Conventional names: image (the image in its registry), status (the Sous server page for the build or deployment), source (the tagged commit), logs (build or scheduler logs), scheduler (the deployment in the scheduler UI). emitEvent fills an empty object when absent.
 */
export interface EventLinks {
  [k: string]: string;
}
/**
 * The source a build is made from.
 */
export interface EventSource {
  /**
   * Normalised repository, e.g. github.com/acme/shop.
   */
  repo: string;
  /**
   * Directory of the application inside the repository ('' at the root).
   */
  offset: string;
  /**
   * The commit id.
   */
  revision: string;
  /**
   * The git tag as written (may have a leading v).
   */
  tag?: string;
}
/**
 * A build stopped before an artifact was ready. (Failed contracts are contract.failed instead.)
 */
export interface BuildFailedEvent {
  /**
   * Unique per event: receivers drop an event whose id they have seen. Filled by emitEvent.
   */
  id: string;
  /**
   * The event type (the discriminant).
   */
  type: 'build.failed';
  /**
   * When it happened, ISO 8601 in UTC. Filled by emitEvent.
   */
  time: string;
  /**
   * The application: repo[,dir][~flavor], e.g. github.com/acme/shop or github.com/acme/mono,api~canary.
   */
  manifestID: string;
  /**
   * The cluster, when the event concerns one.
   */
  cluster?: string;
  /**
   * cluster:manifestID, when the event concerns one cluster.
   */
  deploymentID?: string;
  /**
   * The version (semver, without a leading v).
   */
  version: string;
  /**
   * The manifest's Owners (e-mail addresses), when known; routing rules match on them.
   */
  owners?: string[];
  user: EventUser;
  links: EventLinks;
  source: EventSource;
  /**
   * The phase that failed: source (git facts), detect (no stack), plan, build (the image build), test, publish (push), sign, precache, record (the artifact index).
   */
  phase: 'source' | 'detect' | 'plan' | 'build' | 'test' | 'publish' | 'sign' | 'precache' | 'record';
  error: EventError;
  /**
   * Qualities that make the build suspect (dirty workspace, unpushed revision, ...).
   */
  advisories?: string[];
  /**
   * How long it took, in milliseconds.
   */
  durationMs?: number;
}
/**
 * Why something failed: the SousError code and message.
 */
export interface EventError {
  /**
   * Stable SCREAMING_SNAKE code.
   */
  code: string;
  message: string;
  hints?: string[];
}
/**
 * The image was built but failed its contracts; it is not signed and cannot be deployed. No build.failed follows.
 */
export interface ContractFailedEvent {
  /**
   * Unique per event: receivers drop an event whose id they have seen. Filled by emitEvent.
   */
  id: string;
  /**
   * The event type (the discriminant).
   */
  type: 'contract.failed';
  /**
   * When it happened, ISO 8601 in UTC. Filled by emitEvent.
   */
  time: string;
  /**
   * The application: repo[,dir][~flavor], e.g. github.com/acme/shop or github.com/acme/mono,api~canary.
   */
  manifestID: string;
  /**
   * The cluster, when the event concerns one.
   */
  cluster?: string;
  /**
   * cluster:manifestID, when the event concerns one cluster.
   */
  deploymentID?: string;
  /**
   * The version (semver, without a leading v).
   */
  version: string;
  /**
   * The manifest's Owners (e-mail addresses), when known; routing rules match on them.
   */
  owners?: string[];
  user: EventUser;
  links: EventLinks;
  source: EventSource;
  /**
   * The built image (registry/name:tag, or the image id when it was not pushed).
   */
  image?: string;
  /**
   * Every contract run, passed ones included (at least one failed).
   */
  contracts: ContractOutcome[];
  /**
   * How long it took, in milliseconds.
   */
  durationMs?: number;
}
/**
 * One contract run against the built image.
 */
export interface ContractOutcome {
  name: string;
  status: 'passed' | 'failed' | 'warning' | 'skipped';
  message?: string;
  expected?: string;
  actual?: string;
  /**
   * How long it took, in milliseconds.
   */
  durationMs?: number;
}
/**
 * Ready to deploy: the image is built, tested, pushed, signed (when signing is on) and pre-cached.
 */
export interface ArtifactReadyEvent {
  /**
   * Unique per event: receivers drop an event whose id they have seen. Filled by emitEvent.
   */
  id: string;
  /**
   * The event type (the discriminant).
   */
  type: 'artifact.ready';
  /**
   * When it happened, ISO 8601 in UTC. Filled by emitEvent.
   */
  time: string;
  /**
   * The application: repo[,dir][~flavor], e.g. github.com/acme/shop or github.com/acme/mono,api~canary.
   */
  manifestID: string;
  /**
   * The cluster, when the event concerns one.
   */
  cluster?: string;
  /**
   * cluster:manifestID, when the event concerns one cluster.
   */
  deploymentID?: string;
  /**
   * The version (semver, without a leading v).
   */
  version: string;
  /**
   * The manifest's Owners (e-mail addresses), when known; routing rules match on them.
   */
  owners?: string[];
  user: EventUser;
  links: EventLinks;
  source: EventSource;
  /**
   * The image by digest: registry/name@sha256:...
   */
  image: string;
  /**
   * The image manifest digest (sha256:...).
   */
  digest: string;
  /**
   * Tags the image was pushed with.
   */
  tags?: string[];
  signature?: ArtifactSignature;
  /**
   * Pre-cache results by cluster name.
   */
  precache: {
    [k: string]: PrecacheOutcome;
  };
  contracts?: ContractOutcome[];
  /**
   * Qualities that make the build suspect (dirty workspace, unpushed revision, ...).
   */
  advisories?: string[];
  /**
   * How long it took, in milliseconds.
   */
  durationMs?: number;
}
/**
 * The signature stamped on the image once its contracts passed.
 */
export interface ArtifactSignature {
  /**
   * The signing key id.
   */
  keyId: string;
  /**
   * The tag the signature is stored under.
   */
  tag?: string;
  /**
   * The digest of the signature manifest.
   */
  digest?: string;
}
/**
 * Copying the image into one cluster's registry ahead of a deploy.
 */
export interface PrecacheOutcome {
  registry: string;
  status: 'copied' | 'present' | 'failed' | 'skipped';
  message?: string;
  bytesSent?: number;
}
/**
 * A user asked for a version to run in a cluster; the GDM now says so.
 */
export interface DeployRequestedEvent {
  /**
   * Unique per event: receivers drop an event whose id they have seen. Filled by emitEvent.
   */
  id: string;
  /**
   * The event type (the discriminant).
   */
  type: 'deploy.requested';
  /**
   * When it happened, ISO 8601 in UTC. Filled by emitEvent.
   */
  time: string;
  /**
   * The application: repo[,dir][~flavor], e.g. github.com/acme/shop or github.com/acme/mono,api~canary.
   */
  manifestID: string;
  /**
   * The cluster name.
   */
  cluster: string;
  /**
   * cluster:manifestID. emitEvent fills it from cluster and manifestID when absent.
   */
  deploymentID: string;
  /**
   * The version (semver, without a leading v).
   */
  version: string;
  /**
   * The manifest's Owners (e-mail addresses), when known; routing rules match on them.
   */
  owners?: string[];
  user: EventUser;
  links: EventLinks;
  /**
   * The image manifest digest (sha256:...).
   */
  digest?: string;
  /**
   * The version intended before, when there was one.
   */
  previousVersion?: string;
  /**
   * True when checks were overridden.
   */
  force?: boolean;
}
/**
 * The cluster runs the intended version.
 */
export interface DeploySucceededEvent {
  /**
   * Unique per event: receivers drop an event whose id they have seen. Filled by emitEvent.
   */
  id: string;
  /**
   * The event type (the discriminant).
   */
  type: 'deploy.succeeded';
  /**
   * When it happened, ISO 8601 in UTC. Filled by emitEvent.
   */
  time: string;
  /**
   * The application: repo[,dir][~flavor], e.g. github.com/acme/shop or github.com/acme/mono,api~canary.
   */
  manifestID: string;
  /**
   * The cluster name.
   */
  cluster: string;
  /**
   * cluster:manifestID. emitEvent fills it from cluster and manifestID when absent.
   */
  deploymentID: string;
  /**
   * The version (semver, without a leading v).
   */
  version: string;
  /**
   * The manifest's Owners (e-mail addresses), when known; routing rules match on them.
   */
  owners?: string[];
  user: EventUser;
  links: EventLinks;
  /**
   * The image manifest digest (sha256:...).
   */
  digest?: string;
  /**
   * The version that ran before, when there was one.
   */
  previousVersion?: string;
  /**
   * What the rectifier did.
   */
  resolution?: 'created' | 'updated' | 'scaled';
  instances?: number;
  /**
   * How long it took, in milliseconds.
   */
  durationMs?: number;
}
/**
 * A deploy did not happen or did not come up.
 */
export interface DeployFailedEvent {
  /**
   * Unique per event: receivers drop an event whose id they have seen. Filled by emitEvent.
   */
  id: string;
  /**
   * The event type (the discriminant).
   */
  type: 'deploy.failed';
  /**
   * When it happened, ISO 8601 in UTC. Filled by emitEvent.
   */
  time: string;
  /**
   * The application: repo[,dir][~flavor], e.g. github.com/acme/shop or github.com/acme/mono,api~canary.
   */
  manifestID: string;
  /**
   * The cluster name.
   */
  cluster: string;
  /**
   * cluster:manifestID. emitEvent fills it from cluster and manifestID when absent.
   */
  deploymentID: string;
  /**
   * The version (semver, without a leading v).
   */
  version: string;
  /**
   * The manifest's Owners (e-mail addresses), when known; routing rules match on them.
   */
  owners?: string[];
  user: EventUser;
  links: EventLinks;
  /**
   * verify: the artifact failed its checks; update: the GDM was not changed; rectify: the scheduler did not bring it up.
   */
  phase: 'verify' | 'update' | 'rectify';
  error: EventError;
  /**
   * The artifact checks, for phase verify.
   */
  checks?: VerifyOutcome[];
  attempts?: number;
  /**
   * The image manifest digest (sha256:...).
   */
  digest?: string;
  /**
   * The version intended or running before.
   */
  previousVersion?: string;
  /**
   * How long it took, in milliseconds.
   */
  durationMs?: number;
}
/**
 * One check an artifact must pass before a deploy.
 */
export interface VerifyOutcome {
  name: string;
  ok: boolean;
  code?: string;
  message: string;
}
/**
 * The cluster differs from the GDM although the GDM did not change (someone or something changed the cluster).
 */
export interface RectifyDriftEvent {
  /**
   * Unique per event: receivers drop an event whose id they have seen. Filled by emitEvent.
   */
  id: string;
  /**
   * The event type (the discriminant).
   */
  type: 'rectify.drift';
  /**
   * When it happened, ISO 8601 in UTC. Filled by emitEvent.
   */
  time: string;
  /**
   * The application: repo[,dir][~flavor], e.g. github.com/acme/shop or github.com/acme/mono,api~canary.
   */
  manifestID: string;
  /**
   * The cluster name.
   */
  cluster: string;
  /**
   * cluster:manifestID. emitEvent fills it from cluster and manifestID when absent.
   */
  deploymentID: string;
  /**
   * The intended version.
   */
  version: string;
  /**
   * The manifest's Owners (e-mail addresses), when known; routing rules match on them.
   */
  owners?: string[];
  user: EventUser;
  links: EventLinks;
  intended: DeploymentSnapshot;
  actual: DeploymentSnapshot;
  /**
   * Human-readable differences (at least one), e.g. "instances: 3 intended, 1 running".
   */
  differences: string[];
  /**
   * What the rectifier does (or did) about it.
   */
  action?: 'create' | 'update' | 'scale' | 'delete' | 'report-removed';
}
/**
 * The parts of a deployment the rectifier compares.
 */
export interface DeploymentSnapshot {
  version?: string;
  digest?: string;
  instances?: number;
  status?: 'Pending' | 'Active' | 'Failed' | 'Unknown' | 'Absent';
}
/**
 * The rectifier stopped retrying a change after repeated failures; it stays held until the GDM changes.
 */
export interface RectifyHeldEvent {
  /**
   * Unique per event: receivers drop an event whose id they have seen. Filled by emitEvent.
   */
  id: string;
  /**
   * The event type (the discriminant).
   */
  type: 'rectify.held';
  /**
   * When it happened, ISO 8601 in UTC. Filled by emitEvent.
   */
  time: string;
  /**
   * The application: repo[,dir][~flavor], e.g. github.com/acme/shop or github.com/acme/mono,api~canary.
   */
  manifestID: string;
  /**
   * The cluster name.
   */
  cluster: string;
  /**
   * cluster:manifestID. emitEvent fills it from cluster and manifestID when absent.
   */
  deploymentID: string;
  /**
   * The intended version being held back.
   */
  version: string;
  /**
   * The manifest's Owners (e-mail addresses), when known; routing rules match on them.
   */
  owners?: string[];
  user: EventUser;
  links: EventLinks;
  /**
   * Consecutive failures before holding.
   */
  failures: number;
  error: EventError;
  /**
   * What the rectifier does (or did) about it.
   */
  action?: 'create' | 'update' | 'scale' | 'delete' | 'report-removed';
}
/**
 * A deployment runs that the GDM no longer intends; it was left running (pruning is off for the cluster).
 */
export interface RectifyRemovedEvent {
  /**
   * Unique per event: receivers drop an event whose id they have seen. Filled by emitEvent.
   */
  id: string;
  /**
   * The event type (the discriminant).
   */
  type: 'rectify.removed';
  /**
   * When it happened, ISO 8601 in UTC. Filled by emitEvent.
   */
  time: string;
  /**
   * The application: repo[,dir][~flavor], e.g. github.com/acme/shop or github.com/acme/mono,api~canary.
   */
  manifestID: string;
  /**
   * The cluster name.
   */
  cluster: string;
  /**
   * cluster:manifestID. emitEvent fills it from cluster and manifestID when absent.
   */
  deploymentID: string;
  /**
   * The version still running, when known.
   */
  version?: string;
  /**
   * The manifest's Owners (e-mail addresses), when known; routing rules match on them.
   */
  owners?: string[];
  user: EventUser;
  links: EventLinks;
  /**
   * Why it is no longer intended and what to do, e.g. "not in the GDM; AllowPrune is off".
   */
  reason: string;
  instances?: number;
}
