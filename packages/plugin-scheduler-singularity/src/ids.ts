import * as crypto from 'node:crypto';
import { usageError, type ManifestID } from '@sous/core';

// Singularity's default limits: request IDs under 100 characters, deploy IDs under 50.
const MAX_REQUEST_ID = 99;
const MAX_DEPLOY_ID = 49;
const MAX_VERSION = 31;

/** Replaces what Singularity refuses in IDs with underscores. */
export function sanitize(s: string): string {
  return s.replace(/[^a-zA-Z0-9_]/g, '_');
}

/**
 * The request ID the original Sous derived for a deployment:
 * `<repo short name>-<dir>-<flavor>-<cluster>-<md5 of "repo[,dir]\0flavor\0cluster">`,
 * at most 99 characters. Existing requests keep working because the derivation is the same.
 */
export function requestIDFor(mid: ManifestID, cluster: string): string {
  const segments = mid.source.repo.split('/');
  if (segments.length < 2) {
    throw usageError('SINGULARITY_BAD_REPO', `cannot derive a Singularity request ID from repository ${JSON.stringify(mid.source.repo)}: it has no path`, {
      hints: ['Name the request in the manifest: Deployments.<cluster>.SingularityRequestID'],
    });
  }
  const location = mid.source.dir ? `${mid.source.repo},${mid.source.dir}` : mid.source.repo;
  const digest = crypto.createHash('md5').update(`${location}\0${mid.flavor}\0${cluster}`).digest('hex');
  const id = [sanitize(segments[segments.length - 1]), sanitize(mid.source.dir), sanitize(mid.flavor), sanitize(cluster), digest].join('-');
  return id.slice(0, MAX_REQUEST_ID);
}

/** A new deploy ID: the version without build metadata, then a random suffix, as the original made them. */
export function newDeployID(version: string): string {
  const v = sanitize(version.split('+')[0]).slice(0, MAX_VERSION);
  return `${v}_${crypto.randomUUID().replace(/-/g, '')}`.slice(0, MAX_DEPLOY_ID);
}
