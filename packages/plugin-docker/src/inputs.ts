import type Dockerode from 'dockerode';
import type { BuildPlan } from '@sous/core';
import { externalImages } from './dockerfile';
import { engineError } from './engine';

/** The value recorded for a base image the engine does not have (yet). */
export const ABSENT = 'absent';

/**
 * The base images a plan builds on, as content-key inputs: `from:<ref>` → the
 * engine's image id for it, `absent` when it has none, or the digest itself
 * for a reference pinned by digest (its content cannot change).
 */
export async function baseImageInputs(docker: Dockerode, plan: Pick<BuildPlan, 'dockerfile' | 'buildArgs'>): Promise<Record<string, string>> {
  const refs = externalImages(plan.dockerfile, plan.buildArgs);
  const entries = await Promise.all(
    refs.map(async (ref): Promise<[string, string]> => {
      const pinned = /@(sha256:[a-f0-9]{64})$/.exec(ref);
      if (pinned) return [`from:${ref}`, pinned[1]];
      try {
        const info = await docker.getImage(ref).inspect();
        return [`from:${ref}`, info.Id];
      } catch (e) {
        if ((e as { statusCode?: number }).statusCode === 404) return [`from:${ref}`, ABSENT];
        throw engineError(docker, e);
      }
    }),
  );
  return Object.fromEntries(entries);
}
