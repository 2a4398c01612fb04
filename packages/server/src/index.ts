export { createServer, sousDir, type ServerOptions, type SousServer } from './app';
export { TokenStore, SCOPES, allows, type Scope, type Principal, type StoredToken } from './auth';
export { Autoresolver, type QueueItem } from './autoresolver';
export { renderStatusPage } from './status-page';
export { TagBuilds, WebhookRefusal, type TagBuildsOptions, type BuildJob, type JobState, type AutoDeployOutcome } from './builds';
