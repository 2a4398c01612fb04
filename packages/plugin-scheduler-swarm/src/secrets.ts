import { SEALED_PREFIX, type DeployState, type RegistryConfig } from '@sous/core';
import { ensureImage, LABELS, ownedBy, shortHash, type Engine } from '@sous/plugin-scheduler-docker';

/** Where a task finds its secrets, one file per variable, under /run/secrets. */
export const SECRETS_DIR = 'sous-env';

/**
 * Exports every file of SECRETS_DIR as the variable it is named after, then runs
 * the image's own command: swarm mounts secrets as files, the application reads
 * its environment. (A value loses trailing newlines, as `$(cat)` does.)
 */
const EXPORT_SCRIPT = `for f in /run/secrets/${SECRETS_DIR}/*; do [ -f "$f" ] && export "\${f##*/}=$(cat "$f")"; done; exec "$@"`;

export interface SecretMount {
  SecretID: string;
  SecretName: string;
  File: { Name: string; UID: string; GID: string; Mode: number };
}

interface SwarmSecret {
  ID: string;
  Spec: { Name: string; Labels?: Record<string, string> };
}

/** A docker secret's name: the deployment, the variable and the value's keyed hash, so a new value is a new secret. */
export function secretName(deploymentID: string, variable: string, hash: string): string {
  const v = variable.toLowerCase().replace(/[^a-z0-9]+/g, '-').slice(0, 24);
  return `sous-${shortHash(deploymentID, 8)}-${v}-${hash.slice(SEALED_PREFIX.length, SEALED_PREFIX.length + 16)}`;
}

/**
 * One docker secret per value, made when missing (a secret of that name holds
 * that value already: the name carries its keyed hash), labelled with the
 * deployment and the GDM; the values go to swarm's raft store and the task's
 * tmpfs only, never into labels.
 */
export async function ensureSecrets(engine: Engine, post: DeployState, gdm: string | undefined, values: Readonly<Record<string, string>>): Promise<SecretMount[]> {
  const hashes = post.secrets ?? {};
  const existing = new Map((await listSecrets(engine, post.id)).map((s) => [s.Spec.Name, s.ID]));
  const mounts: SecretMount[] = [];
  for (const variable of Object.keys(values).sort()) {
    const name = secretName(post.id, variable, hashes[variable] ?? '');
    let id = existing.get(name);
    if (!id) {
      const labels = { [LABELS.deployment]: post.id, [LABELS.cluster]: post.cluster, 'dev.sous.secret': variable, ...(gdm ? { [LABELS.gdm]: gdm } : {}) };
      try {
        id = (await engine.call<{ ID: string }>('POST', '/secrets/create', { body: { Name: name, Labels: labels, Data: Buffer.from(values[variable], 'utf8').toString('base64') }, doing: `creating secret ${name}` })).ID;
      } catch (e) {
        // Made meanwhile by another rectifier (the same name is the same value).
        id = (await listSecrets(engine, post.id)).find((s) => s.Spec.Name === name)?.ID;
        if (!id) throw e;
      }
    }
    mounts.push({ SecretID: id, SecretName: name, File: { Name: `${SECRETS_DIR}/${variable}`, UID: '0', GID: '0', Mode: 0o444 } });
  }
  return mounts;
}

function listSecrets(engine: Engine, deploymentID: string): Promise<SwarmSecret[]> {
  return engine.call<SwarmSecret[]>('GET', '/secrets', { query: { filters: { label: [`${LABELS.deployment}=${deploymentID}`] } }, doing: 'listing secrets' });
}

/** Removes the deployment's secrets that `keep` does not name (after a rollout, or all of them after a delete); one still in use stays for the next time. */
export async function removeStaleSecrets(engine: Engine, deploymentID: string, gdm: string | undefined, keep: ReadonlySet<string>): Promise<void> {
  for (const s of await listSecrets(engine, deploymentID)) {
    if (keep.has(s.Spec.Name) || !ownedBy(s.Spec.Labels, gdm)) continue;
    await engine.call('DELETE', `/secrets/${s.ID}`, { doing: `removing secret ${s.Spec.Name}` }).catch(() => undefined);
  }
}

/** The task's command: the export script, then the image's own entrypoint and command (or the deployment's Args). */
export async function exportingCommand(engine: Engine, image: string, args: string[] | undefined, registries?: RegistryConfig): Promise<{ Command: string[]; Args: string[] }> {
  // The image's own command is read from the image: pulled first (with its registry's credentials) when the manager lacks it.
  await ensureImage(engine, image, undefined, registries);
  const inspected = await engine.call<{ Config?: { Entrypoint?: string[] | null; Cmd?: string[] | null } }>('GET', `/images/${encodeURIComponent(image)}/json`, { doing: `inspecting image ${image}` });
  const entrypoint = inspected.Config?.Entrypoint ?? [];
  const cmd = args?.length ? args : (inspected.Config?.Cmd ?? []);
  return { Command: ['/bin/sh', '-c', EXPORT_SCRIPT, 'sous-secrets'], Args: [...entrypoint, ...cmd] };
}
