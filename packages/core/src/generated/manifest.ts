/* eslint-disable */
// Generated from schemas/ by scripts/gen-types.js. Do not edit by hand: edit the schema and run `npm run gen:types`.

/**
 * This interface was referenced by `Manifest`'s JSON-Schema
 * via the `definition` "ManifestKind".
 */
export type ManifestKind = 'http-service' | 'worker' | 'on-demand' | 'scheduled' | 'once' | 'scheduled-job';

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
