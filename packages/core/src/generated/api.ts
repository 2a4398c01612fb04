/* eslint-disable */
// Generated from schemas/ by scripts/gen-types.js. Do not edit by hand: edit the schema and run `npm run gen:types`.

/**
 * This interface was referenced by `Manifest`'s JSON-Schema
 * via the `definition` "ManifestKind".
 */
export type ManifestKind = 'http-service' | 'worker' | 'on-demand' | 'scheduled' | 'once' | 'scheduled-job';

/**
 * Request and response bodies of the Sous server's HTTP API.
 */
export interface SousApi {
  [k: string]: unknown;
}
/**
 * This interface was referenced by `SousApi`'s JSON-Schema
 * via the `definition` "ApiError".
 */
export interface ApiError {
  error: {
    code: string;
    message: string;
    hints?: string[];
    field?: string;
    details?: {};
    /**
     * The exit code the CLI uses for this error (2 usage, 1 failure, 3 timeout).
     */
    exit?: number;
  };
}
/**
 * This interface was referenced by `SousApi`'s JSON-Schema
 * via the `definition` "StoredManifestDoc".
 */
export interface StoredManifestDoc {
  /**
   * The ManifestID.
   */
  id: string;
  /**
   * The manifest's content ETag (its git blob id).
   */
  etag: string;
  manifest: Manifest;
  /**
   * The manifest file as stored (YAML).
   */
  text: string;
}
/**
 * One application's deployment settings in every cluster (one file under manifests/ in the GDM). Field names as the original Sous wrote them.
 */
export interface Manifest {
  /**
   * The source location, repo[,dir].
   */
  Source: string;
  /**
   * Distinguishes several manifests of one source location.
   */
  Flavor?: string;
  Owners?: string[];
  Kind: ManifestKind;
  /**
   * Cluster name to deployment settings.
   */
  Deployments?: {
    [k: string]: DeploySpec;
  };
}
/**
 * DeployConfig plus the version to run.
 *
 * This interface was referenced by `Manifest`'s JSON-Schema
 * via the `definition` "DeploySpec".
 */
export interface DeploySpec {
  Resources?: Resources;
  Metadata?: StringMap;
  Args?: string[];
  Env?: StringMap;
  NumInstances?: number;
  Volumes?: Volume[];
  Startup?: Startup;
  /**
   * A cron schedule, for the scheduled kinds.
   */
  Schedule?: string;
  /**
   * The semver version to deploy.
   */
  Version?: string;
  /**
   * The image manifest digest the version was verified as; deploys pin it.
   */
  Digest?: string;
  /**
   * The image repository the digest belongs to (registry/name, no tag or digest), from the artifact index; a cluster with its own Registry runs the same repository path from there.
   */
  Image?: string;
  SingularityRequestID?: string;
  /**
   * A semver range: new versions matching it deploy themselves once ready.
   */
  AutoDeploy?: string;
  /**
   * The stack the image was built with (node, go, java, dockerfile), from the artifact index; schedulers harden the pods of stacks known to run as a non-root user with a read-only root.
   */
  Stack?: string;
  /**
   * Another controller (a Kubernetes HorizontalPodAutoscaler) sets the instance count: the scheduler leaves it to it, and NumInstances is only the count to plan with. Read by the kubernetes scheduler.
   */
  Autoscaled?: boolean;
  Route?: Route;
  Secrets?: SecretRefs;
  AutoDeployPaused?: AutoDeployPause;
}
/**
 * Resources for each instance, as strings (cpus "0.1", memory in MB "100", ports "1").
 *
 * This interface was referenced by `Manifest`'s JSON-Schema
 * via the `definition` "Resources".
 */
export interface Resources {
  [k: string]: string;
}
/**
 * This interface was referenced by `Manifest`'s JSON-Schema
 * via the `definition` "StringMap".
 */
export interface StringMap {
  [k: string]: string;
}
/**
 * This interface was referenced by `Manifest`'s JSON-Schema
 * via the `definition` "Volume".
 */
export interface Volume {
  Host: string;
  Container: string;
  Mode?: 'RO' | 'RW';
}
/**
 * Readiness checks. Zero fields are filled from the cluster's Startup.
 *
 * This interface was referenced by `Manifest`'s JSON-Schema
 * via the `definition` "Startup".
 */
export interface Startup {
  SkipCheck?: boolean;
  ConnectDelay?: number;
  Timeout?: number;
  ConnectInterval?: number;
  CheckReadyProtocol?: 'HTTP' | 'HTTPS' | 'http' | 'https' | '';
  CheckReadyURIPath?: string;
  CheckReadyPortIndex?: number;
  CheckReadyFailureStatuses?: number[];
  CheckReadyURITimeout?: number;
  CheckReadyInterval?: number;
  CheckReadyRetries?: number;
}
/**
 * How traffic from outside the cluster reaches an http-service: a Kubernetes Ingress, or a Gateway API HTTPRoute when a Gateway is named. Read by the kubernetes scheduler.
 *
 * This interface was referenced by `Manifest`'s JSON-Schema
 * via the `definition` "Route".
 */
export interface Route {
  /**
   * Host names the route answers for.
   *
   * @minItems 1
   */
  Hosts: [string, ...string[]];
  /**
   * Path prefix (default /).
   */
  Path?: string;
  /**
   * Which PORTn the route sends traffic to (default 0).
   */
  PortIndex?: number;
  /**
   * The Gateway to attach an HTTPRoute to: name, or namespace/name.
   */
  Gateway?: string;
  /**
   * The Ingress class (ingressClassName); Ingress only.
   */
  Class?: string;
  /**
   * The Secret holding the TLS certificate for the hosts; Ingress only (a Gateway's listeners hold theirs).
   */
  TLSSecret?: string;
}
/**
 * Environment variables whose values are secrets: the variable name to a reference <provider>:<key> (file:ledger/db-password, env:STRIPE_KEY, command:prod/db), never a value. The rectifier resolves them where it runs and each scheduler hands them to the deployment its own way; no value is ever stored in the GDM.
 *
 * This interface was referenced by `Manifest`'s JSON-Schema
 * via the `definition` "SecretRefs".
 */
export interface SecretRefs {
  [k: string]: string;
}
/**
 * Set by `sous rollback` on a deployment with AutoDeploy: new builds do not deploy themselves here until the next explicit deploy or `sous autodeploy resume`. Omitted when not paused.
 *
 * This interface was referenced by `Manifest`'s JSON-Schema
 * via the `definition` "AutoDeployPause".
 */
export interface AutoDeployPause {
  /**
   * Why, in words: "rollback of 1.3.0 to 1.2.0".
   */
  Reason: string;
  /**
   * Who paused it (name <email>).
   */
  By?: string;
  /**
   * When (RFC 3339).
   */
  At?: string;
}
/**
 * This interface was referenced by `SousApi`'s JSON-Schema
 * via the `definition` "GdmDocument".
 */
export interface GdmDocument {
  /**
   * The GDM commit: the ETag of /gdm.
   */
  revision: string;
  defs: Defs;
  defsEtag: string;
  defsText?: string;
  manifests: StoredManifestDoc[];
  servers?: ServerMap;
  /**
   * Files of the state that could not be read. A flaw with a manifest is a manifest that is unknown (not absent): nothing of it may be created, changed or deleted.
   */
  flaws?: {
    /**
     * The file in the state repository.
     */
    path: string;
    code: string;
    /**
     * What is wrong, with the line where there is one.
     */
    message: string;
    /**
     * The ManifestID the file stands for, when the file is a manifest that could not be read.
     */
    manifest?: string;
  }[];
}
/**
 * defs.yaml: the registry host and the clusters Sous deploys to.
 */
export interface Defs {
  /**
   * The main registry host (host[:port]).
   */
  DockerRepo?: string;
  Clusters?: {
    [k: string]: Cluster;
  };
  EnvVars?: EnvDef[];
  Resources?: FieldDef[];
  Metadata?: FieldDef[];
}
/**
 * This interface was referenced by `Defs`'s JSON-Schema
 * via the `definition` "Cluster".
 */
export interface Cluster {
  Name?: string;
  /**
   * The scheduler kind: docker, swarm, kubernetes, singularity, ...
   */
  Kind: string;
  /**
   * Where the scheduler answers (a URL, or unix:///path for a docker socket).
   */
  BaseURL?: string;
  Env?: {
    [k: string]: string;
  };
  Secrets?: SecretRefs1;
  Startup?: Startup;
  AllowedAdvisories?: string[];
  /**
   * The cluster's own registry (host[:port]); built images are pre-cached there.
   */
  Registry?: string;
  /**
   * Refuse deploys of images without a valid signature from a trusted key.
   */
  RequireSignature?: boolean;
  /**
   * Public keys (PEM, or paths to PEM files) whose signatures this cluster trusts.
   */
  TrustedKeys?: string[];
  /**
   * Let the rectifier delete deployments that are no longer intended.
   */
  AllowPrune?: boolean;
  /**
   * Let manifests' AutoDeploy ranges deploy newly built versions here by themselves. Off by default, so a production cluster never takes a version nobody asked for unless its definition says so.
   */
  AllowAutoDeploy?: boolean;
}
/**
 * Environment variables whose values are secrets: the variable name to a reference <provider>:<key> (file:ledger/db-password, env:STRIPE_KEY, command:prod/db), never a value. The rectifier resolves them where it runs and each scheduler hands them to the deployment its own way; no value is ever stored in the GDM.
 */
export interface SecretRefs1 {
  [k: string]: string;
}
/**
 * This interface was referenced by `Defs`'s JSON-Schema
 * via the `definition` "EnvDef".
 */
export interface EnvDef {
  Name?: string;
  Desc?: string;
  Scope?: string;
  Type?: string;
}
/**
 * This interface was referenced by `Defs`'s JSON-Schema
 * via the `definition` "FieldDef".
 */
export interface FieldDef {
  Name?: string;
  Type?: string;
  Default?: string;
}
/**
 * Cluster name to the URL of the server that rectifies it.
 *
 * This interface was referenced by `SousApi`'s JSON-Schema
 * via the `definition` "ServerMap".
 */
export interface ServerMap {
  [k: string]: string;
}
/**
 * A whole intended state: written as one commit (what changed against the current state).
 *
 * This interface was referenced by `SousApi`'s JSON-Schema
 * via the `definition` "GdmPut".
 */
export interface GdmPut {
  message?: string;
  defs?: Defs;
  /**
   * @maxItems 100000
   */
  manifests: Manifest[];
}
/**
 * One manifest, as YAML text (kept as written) or as a JSON document.
 *
 * This interface was referenced by `SousApi`'s JSON-Schema
 * via the `definition` "ManifestPut".
 */
export interface ManifestPut {
  text?: string;
  manifest?: Manifest;
}
/**
 * This interface was referenced by `SousApi`'s JSON-Schema
 * via the `definition` "SingleDeploymentDoc".
 */
export interface SingleDeploymentDoc {
  deploymentID: string;
  manifestID: string;
  cluster: string;
  etag: string;
  spec: DeploySpec;
  expanded: DeploySpec;
}
/**
 * Deploy a built version to the deployment's cluster: verified exactly as `sous update` verifies it.
 *
 * This interface was referenced by `SousApi`'s JSON-Schema
 * via the `definition` "SingleDeploymentPut".
 */
export interface SingleDeploymentPut {
  version: string;
  force?: boolean;
}
/**
 * This interface was referenced by `SousApi`'s JSON-Schema
 * via the `definition` "QueueItem".
 */
export interface QueueItem {
  id: string;
  deploymentID: string;
  version?: string;
  force?: boolean;
  state: 'queued' | 'running' | 'done';
  /**
   * Items ahead of this one (0 when running or done).
   */
  position: number;
  requestedBy?: string;
  requestedAt: string;
  resolution?: {
    status?: 'Pending' | 'Active' | 'Failed';
    resolution?: string;
    message?: string;
    code?: string;
  };
}
/**
 * This interface was referenced by `SousApi`'s JSON-Schema
 * via the `definition` "QueueDoc".
 */
export interface QueueDoc {
  items: QueueItem[];
}
/**
 * This interface was referenced by `SousApi`'s JSON-Schema
 * via the `definition` "ServersDoc".
 */
export interface ServersDoc {
  servers: ServerMap;
}
/**
 * This interface was referenced by `SousApi`'s JSON-Schema
 * via the `definition` "HealthDoc".
 */
export interface HealthDoc {
  status: string;
  version: string;
  /**
   * The GDM revision the server last read.
   */
  revision: string;
  clusters?: string[];
}
/**
 * This interface was referenced by `SousApi`'s JSON-Schema
 * via the `definition` "RectifyRequest".
 */
export interface RectifyRequest {
  prune?: boolean;
  force?: boolean;
}
/**
 * POST /rollback: roll a deployment back, by default to the newest other version that ran successfully in its cluster.
 *
 * This interface was referenced by `SousApi`'s JSON-Schema
 * via the `definition` "RollbackRequest".
 */
export interface RollbackRequest {
  /**
   * Another version than the default; it must have run successfully there unless force.
   */
  to?: string;
  /**
   * Allow a version that never ran successfully there, or whose artifact was rebuilt since it ran.
   */
  force?: boolean;
}
/**
 * This interface was referenced by `SousApi`'s JSON-Schema
 * via the `definition` "HistorySide".
 */
export interface HistorySide {
  version: string;
  digest?: string;
  instances: number;
}
/**
 * One change of one deployment (GET /history, sous history --json).
 *
 * This interface was referenced by `SousApi`'s JSON-Schema
 * via the `definition` "HistoryEntryDoc".
 */
export interface HistoryEntryDoc {
  deploymentID: string;
  manifestID: string;
  cluster: string;
  /**
   * The GDM commit.
   */
  revision: string;
  /**
   * When it was committed (ISO 8601).
   */
  at: string;
  who: {
    name: string;
    email: string;
  };
  kind:
    | 'register'
    | 'deploy'
    | 'rollback'
    | 'auto-deploy'
    | 'pin'
    | 'scale'
    | 'metadata'
    | 'pause'
    | 'resume'
    | 'config'
    | 'remove';
  /**
   * The commit's subject.
   */
  message: string;
  from?: HistorySide;
  to?: HistorySide;
  changed: string[];
  outcome: null | {
    status: 'Pending' | 'Active' | 'Failed';
    resolution: string;
    message?: string;
    at: string;
  };
}
/**
 * This interface was referenced by `SousApi`'s JSON-Schema
 * via the `definition` "HistoryDoc".
 */
export interface HistoryDoc {
  revision: string;
  entries: HistoryEntryDoc[];
}
/**
 * One line of an application's output: a line of GET /logs as NDJSON.
 *
 * This interface was referenced by `SousApi`'s JSON-Schema
 * via the `definition` "LogLineDoc".
 */
export interface LogLineDoc {
  instance: string;
  stream?: 'stdout' | 'stderr';
  time?: string;
  text: string;
}
