import { expandDeploySpec, type ContractReport, type DeploySpec } from '@sous/core';
import type { ResolvedContractsOptions } from './options';

/** How the service is started and checked, from the manifest's deployment with the plugin's defaults. */
export interface StartupSettings {
  /** The deployment the settings came from, when the manifest has one. */
  cluster?: string;
  /** From starting the container until the readiness path must answer 2xx. */
  timeoutMs: number;
  /** Wait this long after starting before the first check. */
  connectDelayMs: number;
  protocol: 'HTTP' | 'HTTPS';
  path: string;
  /** How many ports the service gets (PORT0..PORTn-1). */
  ports: number;
  /** The port (index) the readiness path is checked on. */
  portIndex: number;
  /** Statuses that fail readiness at once instead of being retried. */
  failureStatuses: number[];
  /** Timeout of each readiness request. */
  requestTimeoutMs: number;
  /** Startup.SkipCheck: the service is not checked over HTTP at all. */
  skipCheck: boolean;
  env: Record<string, string>;
  /** Startup arguments (the deployment's Args), replacing the image's CMD when given. */
  args: string[];
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0);

/**
 * The startup settings contracts use. Each deployment is expanded with its
 * cluster's defaults; with several, the most patient one (longest timeout
 * plus connect delay) is taken, so a contract never fails an image that some
 * target cluster would have waited for.
 */
export function startupSettings(report: Pick<ContractReport, 'manifest' | 'clusters'>, opts: ResolvedContractsOptions): StartupSettings {
  const deployments = Object.entries(report.manifest?.Deployments ?? {}).sort(([a], [b]) => a.localeCompare(b));
  const expanded: [string | undefined, DeploySpec][] = deployments.length
    ? deployments.map(([c, spec]) => [c, expandDeploySpec(spec, report.clusters?.[c])])
    : [[undefined, expandDeploySpec({}, undefined)]];
  const timeoutOf = (s: DeploySpec) => (num(s.Startup?.Timeout) ? num(s.Startup?.Timeout) * 1000 : opts.startupTimeoutMs);
  const patience = (s: DeploySpec) => timeoutOf(s) + num(s.Startup?.ConnectDelay) * 1000;
  let [cluster, spec] = expanded[0];
  for (const [c, s] of expanded.slice(1)) if (patience(s) > patience(spec)) [cluster, spec] = [c, s];
  const st = spec.Startup ?? {};
  const ports = Math.max(1, Math.floor(Number(spec.Resources?.ports ?? '1')) || 1);
  return {
    cluster,
    timeoutMs: timeoutOf(spec),
    connectDelayMs: num(st.ConnectDelay) * 1000,
    protocol: String(st.CheckReadyProtocol ?? 'HTTP').toUpperCase() === 'HTTPS' ? 'HTTPS' : 'HTTP',
    path: st.CheckReadyURIPath || '/health',
    ports,
    portIndex: Math.min(num(st.CheckReadyPortIndex), ports - 1),
    failureStatuses: (st.CheckReadyFailureStatuses ?? []).filter((s): s is number => typeof s === 'number'),
    requestTimeoutMs: (num(st.CheckReadyURITimeout) || 2) * 1000,
    skipCheck: st.SkipCheck === true,
    env: { ...(spec.Env ?? {}) },
    args: [...(spec.Args ?? [])],
  };
}
