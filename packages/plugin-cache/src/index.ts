export { CachePlugin, cache, type CachePluginOptions } from './plugin';
export { precache, copyWithSignature, type PrecacheRequest, type PrecacheOutcome } from './precache';
export { lookupBuilt } from './lookup';
