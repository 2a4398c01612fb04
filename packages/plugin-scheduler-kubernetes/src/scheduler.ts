import { isSousError, sleep, SousError, type Action, type ActionOutcome, type ApplyOptions, type ClusterRef, type DeployState, type Lease, type Scheduler } from '@sous/core';
import type { V1CronJob, V1Deployment, V1Service } from '@kubernetes/client-node';
import { call, k8s, makeApis, type Apis } from './client';
import { takeLease } from './lease';
import { objectName, RESTARTED_AT, selectorFor } from './names';
import { annotationsFor, desiredCronJob, desiredDeployment, desiredService, imageFor, workloadOf, type Workload } from './objects';
import { kubeConfigFor, type ClusterSettings } from './options';
import { rolloutOf, stateFromCronJob, stateFromDeployment } from './read';

/** What a KubernetesScheduler needs besides the cluster. */
export interface KubernetesContext {
  cluster: ClusterRef;
  settings: ClusterSettings;
  /** The registry images are named in (the cluster's own, or Sous's). */
  registry?: string;
  pollMs: number;
  requestTimeoutMs: number;
  basePort: number;
  env: Record<string, string | undefined>;
}

type Done = (resolution: ActionOutcome['resolution'], status: ActionOutcome['status'], message?: string) => ActionOutcome;

function duration(ms: number): string {
  return ms < 10_000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`;
}

const statusIs = (e: unknown, status: number) => isSousError(e) && e.details?.status === status;

/** Create-or-replace for one kind of object, with the resourceVersion read for the replace. */
interface Ops<T extends { metadata?: { resourceVersion?: string } }> {
  read(): Promise<T>;
  create(body: T): Promise<T>;
  replace(body: T): Promise<T>;
}

/**
 * One Kubernetes cluster as a Sous scheduler, through the official client:
 * a Deployment (and a Service for http-services) or a CronJob per
 * deployment, in one namespace, labelled and annotated so the DeployState
 * can be rebuilt from the cluster alone; a rollout is followed until it is
 * complete, has exceeded its progress deadline, or the time is up.
 */
export class KubernetesScheduler implements Scheduler {
  readonly kind = 'kubernetes';

  constructor(private readonly ctx: KubernetesContext) {}

  private get ns(): string {
    return this.ctx.settings.namespace;
  }

  /** Made for every use, so a rotated token file or kubeconfig is read again. */
  private connect(): Apis {
    return makeApis(kubeConfigFor(this.ctx.cluster, this.ctx.settings, this.ctx.env));
  }

  private call<T>(apis: Apis, what: string, fn: () => Promise<T>): Promise<T> {
    return call(what, apis.server, this.ctx.requestTimeoutMs, fn);
  }

  async actual(): Promise<DeployState[]> {
    const apis = this.connect();
    const labelSelector = selectorFor(this.ctx.cluster.name);
    const [deployments, cronJobs] = await Promise.all([
      this.call(apis, `list deployments in namespace ${this.ns}`, () => apis.apps.listNamespacedDeployment({ namespace: this.ns, labelSelector })),
      this.call(apis, `list cronjobs in namespace ${this.ns}`, () => apis.batch.listNamespacedCronJob({ namespace: this.ns, labelSelector })),
    ]);
    const name = this.ctx.cluster.name;
    const states = [
      ...deployments.items.map((d) => stateFromDeployment(d, name, apis.server, this.ctx.basePort)),
      ...cronJobs.items.map((j) => stateFromCronJob(j, name, apis.server, this.ctx.basePort)),
    ];
    return states.filter((s): s is DeployState => s !== undefined).sort((a, b) => a.id.localeCompare(b.id));
  }

  async apply(action: Action, opts: ApplyOptions): Promise<ActionOutcome> {
    const t0 = Date.now();
    const done: Done = (resolution, status, message) => ({ action, resolution, status, ...(message ? { message } : {}), attempts: 1, durationMs: Date.now() - t0 });
    const { prior, post } = action;
    if (action.kind === 'report-removed') return done('not deleted', 'Active', action.reason);
    const apis = this.connect();
    if (action.kind === 'delete') {
      if (!prior) throw new SousError('KUBERNETES_BAD_ACTION', `delete of ${action.deploymentID} has nothing to delete`);
      await this.remove(apis, prior, (prior.ref?.workload as Workload | undefined) ?? workloadOf(prior.kind), prior.kind === 'http-service');
      return done('deleted', 'Active');
    }
    if (!post) throw new SousError('KUBERNETES_BAD_ACTION', `${action.kind} of ${action.deploymentID} has no intended deployment`);
    const workload = workloadOf(post.kind);
    const name = objectName(post.manifestID, post.id);
    const ok = action.kind === 'create' ? 'created' : 'updated';
    const notOk = action.kind === 'create' ? 'not created' : 'not updated';
    if (action.kind === 'scale' && workload === 'Deployment' && prior?.ref?.workload === 'Deployment') {
      opts.onProgress?.({ phase: 'scale', message: `scaling deployment ${name} to ${post.spec.NumInstances ?? 0}` });
      const m = k8s();
      const patched = await this.call(apis, `scale deployment ${name}`, () =>
        apis.apps.patchNamespacedDeployment(
          { name, namespace: this.ns, body: { metadata: { annotations: annotationsFor(post) }, spec: { replicas: post.spec.NumInstances ?? 0 } } },
          m.setHeaderOptions('Content-Type', m.PatchStrategy.MergePatch),
        ),
      );
      return this.waitRollout(apis, name, patched.metadata?.generation ?? 0, opts, done, ok, notOk);
    }
    const build = { namespace: this.ns, image: imageFor(post, this.ctx.registry), basePort: this.ctx.basePort };
    const before = prior?.ref?.workload as Workload | undefined;
    if (before && before !== workload) await this.remove(apis, prior!, before, false);
    const exists = before === workload;
    if (workload === 'CronJob') {
      opts.onProgress?.({ phase: 'apply', message: `cronjob ${name}` });
      await this.upsert(apis, `cronjob ${name}`, desiredCronJob(post, build), exists, this.cronJobOps(apis, name));
      if (prior?.kind === 'http-service') await this.deleteQuietly(apis, `service ${name}`, () => apis.core.deleteNamespacedService({ name, namespace: this.ns }));
      return done(ok, 'Active');
    }
    opts.onProgress?.({ phase: 'apply', message: `deployment ${name}` });
    const desired = desiredDeployment(post, build);
    // A forced redeploy of an unchanged spec must still replace the pods: a changed template annotation rolls them, as `kubectl rollout restart` does.
    if (action.force) desired.spec!.template.metadata = { ...desired.spec!.template.metadata, annotations: { [RESTARTED_AT]: new Date().toISOString() } };
    const applied = await this.upsert(apis, `deployment ${name}`, desired, exists, this.deploymentOps(apis, name));
    const svc = desiredService(post, build);
    if (svc) await this.upsertService(apis, svc);
    else if (prior?.kind === 'http-service') await this.deleteQuietly(apis, `service ${name}`, () => apis.core.deleteNamespacedService({ name, namespace: this.ns }));
    return this.waitRollout(apis, name, applied.metadata?.generation ?? 0, opts, done, ok, notOk);
  }

  async lease(holder: string, ttlMs: number): Promise<Lease | undefined> {
    const apis = this.connect();
    return takeLease({ apis, namespace: this.ns, cluster: this.ctx.cluster.name, call: (what, fn) => this.call(apis, what, fn) }, holder, ttlMs);
  }

  private deploymentOps(apis: Apis, name: string): Ops<V1Deployment> {
    const namespace = this.ns;
    return {
      read: () => apis.apps.readNamespacedDeployment({ name, namespace }),
      create: (body) => apis.apps.createNamespacedDeployment({ namespace, body }),
      replace: (body) => apis.apps.replaceNamespacedDeployment({ name, namespace, body }),
    };
  }

  private cronJobOps(apis: Apis, name: string): Ops<V1CronJob> {
    const namespace = this.ns;
    return {
      read: () => apis.batch.readNamespacedCronJob({ name, namespace }),
      create: (body) => apis.batch.createNamespacedCronJob({ namespace, body }),
      replace: (body) => apis.batch.replaceNamespacedCronJob({ name, namespace, body }),
    };
  }

  /** Replaces the object when it exists (read first for its resourceVersion), creates it otherwise. */
  private async upsert<T extends { metadata?: { resourceVersion?: string } }>(apis: Apis, what: string, body: T, exists: boolean, ops: Ops<T>): Promise<T> {
    const replace = async () => {
      const current = await this.call(apis, `read ${what}`, ops.read);
      body.metadata = { ...body.metadata, resourceVersion: current.metadata?.resourceVersion };
      return this.call(apis, `replace ${what}`, () => ops.replace(body));
    };
    if (exists) {
      try {
        return await replace();
      } catch (e) {
        if (!statusIs(e, 404)) throw e;
      }
    }
    try {
      return await this.call(apis, `create ${what}`, () => ops.create(body));
    } catch (e) {
      // Made by an earlier attempt that did not finish: take it over.
      if (!statusIs(e, 409)) throw e;
      return replace();
    }
  }

  /** A Service keeps its cluster IP: a replace carries the one it has. */
  private async upsertService(apis: Apis, body: V1Service): Promise<void> {
    const name = body.metadata!.name!;
    const namespace = this.ns;
    let current: V1Service | undefined;
    try {
      current = await this.call(apis, `read service ${name}`, () => apis.core.readNamespacedService({ name, namespace }));
    } catch (e) {
      if (!statusIs(e, 404)) throw e;
    }
    if (!current) {
      await this.call(apis, `create service ${name}`, () => apis.core.createNamespacedService({ namespace, body }));
      return;
    }
    body.metadata!.resourceVersion = current.metadata?.resourceVersion;
    body.spec = { ...body.spec, clusterIP: current.spec?.clusterIP, clusterIPs: current.spec?.clusterIPs };
    await this.call(apis, `replace service ${name}`, () => apis.core.replaceNamespacedService({ name, namespace, body }));
  }

  private async deleteQuietly(apis: Apis, what: string, fn: () => Promise<unknown>): Promise<void> {
    try {
      await this.call(apis, `delete ${what}`, fn);
    } catch (e) {
      if (!statusIs(e, 404)) throw e;
    }
  }

  private async remove(apis: Apis, prior: DeployState, workload: Workload, service: boolean): Promise<void> {
    const name = (prior.ref?.name as string | undefined) ?? objectName(prior.manifestID, prior.id);
    const namespace = this.ns;
    const propagationPolicy = 'Background';
    if (workload === 'Deployment') await this.deleteQuietly(apis, `deployment ${name}`, () => apis.apps.deleteNamespacedDeployment({ name, namespace, propagationPolicy }));
    else await this.deleteQuietly(apis, `cronjob ${name}`, () => apis.batch.deleteNamespacedCronJob({ name, namespace, propagationPolicy }));
    if (service) await this.deleteQuietly(apis, `service ${name}`, () => apis.core.deleteNamespacedService({ name, namespace }));
  }

  /** Reads the Deployment until its rollout of `generation` is complete, failed, or the time is up. */
  private async waitRollout(apis: Apis, name: string, generation: number, opts: ApplyOptions, done: Done, ok: 'created' | 'updated', notOk: 'not created' | 'not updated'): Promise<ActionOutcome> {
    const deadline = Date.now() + opts.timeoutMs;
    let last = 'not read yet';
    for (;;) {
      let d: V1Deployment | undefined;
      try {
        d = await this.call(apis, `read deployment ${name}`, () => apis.apps.readNamespacedDeployment({ name, namespace: this.ns }));
      } catch (e) {
        // A passing failure to read is not the rollout's; keep watching until the time is up.
        if (!(isSousError(e) && e.details?.retryable === true)) throw e;
      }
      if (d) {
        const r = rolloutOf(d, generation);
        if (r.state === 'done') return done(ok, 'Active');
        if (r.state === 'failed') return done(notOk, 'Failed', `${r.message} (deployment ${this.ns}/${name})`);
        last = r.message;
        opts.onProgress?.({ phase: 'waiting', message: r.message });
      }
      const left = deadline - Date.now();
      if (left <= 0 || opts.signal?.aborted) return done('coming', 'Pending', `rollout of ${this.ns}/${name} not finished after ${duration(opts.timeoutMs)}: ${last}`);
      await sleep(Math.min(this.ctx.pollMs, left), opts.signal);
    }
  }
}
