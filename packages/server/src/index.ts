export { createServer, sousDir, type ServerOptions, type SousServer } from './app';
export { TokenStore, SCOPES, allows, type Scope, type Principal, type StoredToken } from './auth';
export { Autoresolver, type QueueItem } from './autoresolver';
export { renderStatusPage } from './status-page';
