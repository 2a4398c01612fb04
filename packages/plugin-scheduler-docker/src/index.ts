export { DockerSchedulerPlugin, dockerScheduler } from './plugin';
export { DockerScheduler } from './scheduler';
export { clusterSettings, type ClusterSettings, type DockerClusterOptions, type DockerSchedulerOptions } from './options';
export { Engine, parseEngineURL, engineError, engineMessage, statusOf, demuxLogs, type EngineTarget, type CallOptions } from './engine';
export { LABELS, configHash, deploymentLabels, stateFromLabels, stableJSON, shortHash, slug, type LabelledState } from './labels';
export { imageReference, repositoryPath, containerPorts, instanceEnv, envList, limits, portCount, checkKind, LONG_RUNNING_KINDS } from './instance';
export { readinessFor, probeOnce, waitReady, sleep, type Readiness, type ProbeResult, type InstanceView, type WaitResult, type WaitOptions } from './probe';
export { newHolder, holderIsDead, holderLabels, holderFromLabels, type HolderIdentity } from './holder';
export { ContainerLease, LEASE_IMAGE } from './lease';
