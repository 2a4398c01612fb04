/**
 * The Sous data model. The shapes come from schemas/ (generated into ../generated);
 * this file names them for the rest of the code.
 */
export type { Manifest, DeploySpec, Startup, Volume, Resources, StringMap, ManifestKind, Route, AutoDeployPause } from '../generated/manifest';
export type { Defs, Cluster, EnvDef, FieldDef } from '../generated/defs';
export type { ArtifactRecord, ContractResultRecord, SignatureRecord, PrecacheRecord } from '../generated/artifact';

export const MANIFEST_KINDS = ['http-service', 'worker', 'on-demand', 'scheduled', 'once', 'scheduled-job'] as const;

/** Resources as Sous wrote them when a deploy spec gave none. */
export const DEFAULT_RESOURCES = Object.freeze({ cpus: '0.1', memory: '100', ports: '1' });

export const STARTUP_FIELDS = [
  'SkipCheck',
  'ConnectDelay',
  'Timeout',
  'ConnectInterval',
  'CheckReadyProtocol',
  'CheckReadyURIPath',
  'CheckReadyPortIndex',
  'CheckReadyFailureStatuses',
  'CheckReadyURITimeout',
  'CheckReadyInterval',
  'CheckReadyRetries',
] as const;
