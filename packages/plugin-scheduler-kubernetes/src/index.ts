import { resolveRegistryAuth, type ClusterRef, type Scheduler, type Sous, type SousPlugin } from '@sous/core';
import { settingsFor, type KubernetesOptions } from './options';
import { KubernetesScheduler } from './scheduler';

/**
 * Schedules deployments on Kubernetes (cluster kind `kubernetes`) through
 * the official @kubernetes/client-node, which is loaded only when a
 * Kubernetes cluster is actually used. Cluster BaseURL is the API server.
 */
export class KubernetesSchedulerPlugin implements SousPlugin {
  static readonly PLUGIN_NAME = 'sous:scheduler-kubernetes';
  readonly name = KubernetesSchedulerPlugin.PLUGIN_NAME;
  private readonly schedulers = new Map<string, Scheduler>();

  constructor(private readonly opts: KubernetesOptions = {}) {}

  apply(sous: Sous): void {
    sous.hooks.scheduler.for('kubernetes').tap(this.name, (c: ClusterRef) => {
      const registry = c.def.Registry || this.opts.registry || sous.config.registry;
      const key = JSON.stringify([c.name, c.def.BaseURL, registry]);
      let s = this.schedulers.get(key);
      if (!s) {
        s = new KubernetesScheduler({
          cluster: c,
          settings: settingsFor(c.name, this.opts),
          registry,
          registries: sous.config,
          pollMs: this.opts.pollMs ?? 2000,
          requestTimeoutMs: this.opts.requestTimeoutMs ?? 30_000,
          basePort: this.opts.basePort ?? 8080,
          env: this.opts.env ?? process.env,
          serviceAccountDir: this.opts.serviceAccountDir,
          // By default, the credential core's lookup finds for the registry (the config's registries, Docker's config.json).
          pullCredentials: this.opts.pullCredentials ?? (async (r) => (await resolveRegistryAuth(r, sous.config)).credential),
          restricted: this.opts.restricted,
          watch: this.opts.watch,
        });
        this.schedulers.set(key, s);
      }
      return s;
    });
  }
}

/** The Kubernetes scheduler plugin, for `plugins` in the Sous config. */
export const kubernetesScheduler = (opts?: KubernetesOptions): KubernetesSchedulerPlugin => new KubernetesSchedulerPlugin(opts);

export { KubernetesScheduler, type KubernetesContext } from './scheduler';
export { settingsFor, connectionFor, envSuffix, type Connection, type KubernetesOptions, type KubernetesClusterOptions, type ClusterSettings } from './options';
export { loadKubeconfig, resolveContext, inClusterContext, SERVICE_ACCOUNT_DIR, type KubeConfigFiles, type ResolvedContext } from './kubeconfig';
export { ExecCredentials, type ExecCredential } from './exec-credential';
export { pullSecret, pullSecretName, registryOf, type PullCredentials, type RegistryCredential } from './pull-secrets';
export { applyObject, RESOURCES, type Kind } from './apply';
export { objectName, guessableName, appName, labelValue, leaseName, selectorFor, LABELS, ANNOTATIONS, FIELD_MANAGER } from './names';
export { desiredDeployment, desiredService, desiredServiceAccount, desiredIngress, desiredHTTPRoute, desiredCronJob, workloadOf, probesFor, resourcesFor, labelsFor, annotatedSpec, HARDENED_STACKS, type BuildContext, type HTTPRoute } from './objects';
export { stateFromDeployment, stateFromCronJob, rolloutOf, quantity, ownsReplicas, type LiveRef } from './read';
export { podLogs, deploymentPods, APP_CONTAINER } from './logs';
