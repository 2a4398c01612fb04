export * from './media-types';
export * from './digest';
export * from './reference';
export { RegistryClient, type RegistryClientOptions, type ManifestHead, type FetchedManifest } from './client';
export type { RegistryErrorEntry } from './http';
export * from './copy';
