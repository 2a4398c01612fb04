export { createServer, type ServerOptions, type SousServer } from './app';
export { sousDir } from './context';
export { TokenStore, tokensFileFor, SCOPES, allows, type Scope, type Principal, type StoredToken } from './auth';
export { Autoresolver, type QueueItem } from './autoresolver';
export { renderStatusPage } from './status-page';
export { TagBuilds, WebhookRefusal, type TagBuildsOptions, type BuildJob, type JobState, type AutoDeployOutcome } from './builds';
export { TrustedNetworks, legacyApi, LEGACY_PATHS, type LegacyOptions } from './legacy';
