import { failure, imageNameIn, type Cluster, type DeploySpec, type DeployState, type RegistryConfig } from '@sous/core';

/** Kinds that run as long-lived instances; the others need a scheduler with jobs or cron. */
export const LONG_RUNNING_KINDS: readonly string[] = ['http-service', 'worker', 'on-demand'];

/** Refuses kinds a container scheduler has no way to run (once, scheduled). */
export function checkKind(d: DeployState, scheduler: string): void {
  if (LONG_RUNNING_KINDS.includes(d.kind)) return;
  throw failure('KIND_UNSUPPORTED', `${d.id}: ${scheduler} clusters run long-lived kinds (${LONG_RUNNING_KINDS.join(', ')}), not ${JSON.stringify(d.kind)}`, {
    hints: ['Deploy scheduled and one-off work to a cluster whose scheduler runs jobs (kubernetes, singularity)'],
    details: { retryable: false },
  });
}

function stripRef(name: string): string {
  const noDigest = name.split('@')[0];
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  return colon > slash ? noDigest.slice(0, colon) : noDigest;
}

/** The repository path of an image name without its registry host (`127.0.0.1:5000/acme/shop` → `acme/shop`). */
export function repositoryPath(image: string): string {
  const name = stripRef(image);
  const i = name.indexOf('/');
  if (i < 0) return name;
  const first = name.slice(0, i);
  return first.includes('.') || first.includes(':') || first === 'localhost' ? name.slice(i + 1) : name;
}

/**
 * The image an instance runs: `<registry>/<repository path>@<digest>`, from
 * the cluster's own registry when it has one (pre-cached there under the same
 * path, or the name that registry's imageName template gives it), else the
 * artifact's image name.
 */
export function imageReference(d: DeployState, cluster: Cluster, config?: RegistryConfig): string {
  const spec = d.spec;
  if (!spec.Image) {
    throw failure('IMAGE_UNKNOWN', `${d.id}: the deployment pins ${spec.Digest ? `digest ${spec.Digest}` : `version ${spec.Version}`} but names no image repository`, {
      hints: ['Deploy with `sous deploy` or `sous update`: they record the image (DeploySpec Image) from the artifact index'],
      details: { retryable: false },
    });
  }
  const base = cluster.Registry
    ? config
      ? imageNameIn(config, cluster.Registry, stripRef(spec.Image), d.manifestID.source.repo, d.manifestID.source.dir)
      : `${cluster.Registry.replace(/\/+$/, '')}/${repositoryPath(spec.Image)}`
    : stripRef(spec.Image);
  return spec.Digest ? `${base}@${spec.Digest}` : `${base}:${spec.Version}`;
}

/** How many ports an instance gets (Resources.ports). */
export function portCount(spec: DeploySpec): number {
  const n = Number(spec.Resources?.ports ?? 1);
  return Number.isInteger(n) && n > 0 ? Math.min(n, 64) : 0;
}

/** The container ports of an instance: PORT0 = base, PORTn = base + n. */
export function containerPorts(spec: DeploySpec, base: number): number[] {
  return Array.from({ length: portCount(spec) }, (_, i) => base + i);
}

/** An instance's environment: the spec's Env (cluster defaults already merged), then PORT0..n-1, PORT and TASK_HOST. */
export function instanceEnv(spec: DeploySpec, ports: number[], taskHost: string): Record<string, string> {
  const env: Record<string, string> = { ...(spec.Env ?? {}) };
  ports.forEach((p, i) => (env[`PORT${i}`] = String(p)));
  if (ports.length) env.PORT = String(ports[0]);
  env.TASK_HOST = taskHost;
  return env;
}

export function envList(env: Record<string, string>): string[] {
  return Object.entries(env).map(([k, v]) => `${k}=${v}`);
}

/** cpus → nano-CPUs and memory (MB) → bytes; zero or unset means no limit. */
export function limits(spec: DeploySpec): { nanoCpus?: number; memoryBytes?: number } {
  const cpus = Number(spec.Resources?.cpus ?? 0);
  const mem = Number(spec.Resources?.memory ?? 0);
  return {
    nanoCpus: cpus > 0 ? Math.round(cpus * 1e9) : undefined,
    memoryBytes: mem > 0 ? Math.round(mem * 1024 * 1024) : undefined,
  };
}
