export { SwarmSchedulerPlugin, swarmScheduler } from './plugin';
export { SwarmScheduler } from './scheduler';
export { swarmSettings, type SwarmSettings, type SwarmClusterOptions, type SwarmSchedulerOptions, type HealthcheckOption } from './options';
export { serviceSpec, serviceName, healthcheck, specConfig, type ServiceSpec } from './spec';
export { serviceState } from './actual';
export { ConfigLease } from './lease';
