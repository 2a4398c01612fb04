/* eslint-disable */
// Generated from schemas/ by scripts/gen-types.js. Do not edit by hand: edit the schema and run `npm run gen:types`.

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
  Secrets?: SecretRefs;
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
 * Secret references every deployment in the cluster gets, unless its own Secrets or Env name the variable.
 */
export interface SecretRefs {
  [k: string]: string;
}
/**
 * Readiness checks. Zero fields are filled from the cluster's Startup.
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
