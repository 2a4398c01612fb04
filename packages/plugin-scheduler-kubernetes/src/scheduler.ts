import { isSousError, sleep, SousError, usageError, type Action, type ActionOutcome, type ApplyOptions, type ClusterRef, type DeployState, type Lease, type LogLine, type LogRequest, type RegistryConfig, type Scheduler } from '@sous/core';
import { podLogs } from './logs';
import type { KubernetesObject, V1CronJob, V1Deployment } from '@kubernetes/client-node';
import { applyAs, applyObject, deleteObject, ownedBy, readObject, type ApplyContext, type Kind } from './apply';
import { call, makeApis, type Apis, type CallInfo } from './client';
import { ExecCredentials } from './exec-credential';
import { takeLease } from './lease';
import { guessableName, objectName, secretName, selectorFor } from './names';
import {
  desiredCronJob,
  desiredDeployment,
  desiredHTTPRoute,
  desiredIngress,
  desiredSecret,
  desiredService,
  desiredServiceAccount,
  imageFor,
  routeKind,
  workloadOf,
  type BuildContext,
  type Owner,
  type Workload,
} from './objects';
import { connectionFor, type ClusterSettings, type Connection } from './options';
import { pullSecret, registryOf, type PullCredentials } from './pull-secrets';
import { listAll, rolloutOf, stateFromCronJob, stateFromDeployment, type LiveRef } from './read';
import { Mirror, type Listed } from './mirror';
import { getJSON, watchJSON } from './raw';

/** What a KubernetesScheduler needs besides the cluster. */
export interface KubernetesContext {
  cluster: ClusterRef;
  settings: ClusterSettings;
  /** The registry images are named in (the cluster's own, or Sous's). */
  registry?: string;
  /** The config's registry settings: the image name template of that registry. */
  registries?: RegistryConfig;
  pollMs: number;
  requestTimeoutMs: number;
  basePort: number;
  env: Record<string, string | undefined>;
  serviceAccountDir?: string;
  /** Credentials for the pods' image pulls (imagePullSecrets); none: pulls are anonymous. */
  pullCredentials?: PullCredentials;
  /** Give every pod the restricted security context, whatever its stack. */
  restricted?: boolean;
  /** Keep the workloads listed by a watch from the second read on (default true); false: every read lists. */
  watch?: boolean;
}

/** The field manager that holds `replicas` while it passes from Sous to an autoscaler (the Kubernetes docs' hand-over). */
export const HANDOVER_MANAGER = 'sous-handover-to-autoscaler';

type Done = (resolution: ActionOutcome['resolution'], status: ActionOutcome['status'], message?: string) => ActionOutcome;

function duration(ms: number): string {
  return ms < 10_000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`;
}

interface Session {
  apis: Apis;
  conn: Connection;
  ctx: ApplyContext;
}

/**
 * One Kubernetes cluster as a Sous scheduler, through the official client:
 * per deployment a ServiceAccount and a Deployment (with a Service and an
 * optional Ingress or HTTPRoute for http-services) or a CronJob, applied
 * server-side as field manager `sous`, labelled and annotated so the
 * DeployState can be rebuilt from the cluster alone; a rollout is followed
 * until it is complete, has exceeded its progress deadline, or the time is up.
 */
export class KubernetesScheduler implements Scheduler {
  readonly kind = 'kubernetes';
  private readonly exec: ExecCredentials;

  /** The workloads of each server and namespace, listed then watched. */
  private readonly mirrors = new Map<string, Mirror<KubernetesObject>>();
  /** Each workload's DeployState by uid (as JSON: every read gets its own copy), for the resourceVersion it was made from. */
  private readonly states = new Map<string, { rv: string; json: string | undefined }>();

  constructor(private readonly ctx: KubernetesContext) {
    this.exec = new ExecCredentials(ctx.env);
  }

  /** Made for every use, so a rotated token file, kubeconfig or exec credential is read again. */
  private async connect(progress?: (m: string) => void): Promise<Session> {
    const conn = await connectionFor(this.ctx.cluster, this.ctx.settings, this.ctx.env, this.exec, this.ctx.serviceAccountDir);
    const apis = makeApis(conn.kc);
    apis.server = conn.server;
    const ctx: ApplyContext = {
      apis,
      namespace: conn.namespace,
      call: (what, fn) => this.call(apis, conn, what, fn),
      progress,
      // A read after Sous's own write waits until the watch has delivered it.
      wrote: (kind, name, rv) => this.mirrors.get(mirrorKey(conn.server, conn.namespace, kind))?.wrote(name, rv),
    };
    return { apis, conn, ctx };
  }

  /** The mirror of one kind of workload, made on first use. */
  private mirror(s: Session, kind: Workload): Mirror<KubernetesObject> {
    const key = mirrorKey(s.conn.server, s.conn.namespace, kind);
    let m = this.mirrors.get(key);
    if (m) return m;
    const ns = s.conn.namespace;
    const resource = kind === 'Deployment' ? 'deployments.apps' : 'cronjobs.batch';
    const collection = `${kind === 'Deployment' ? '/apis/apps/v1' : '/apis/batch/v1'}/namespaces/${encodeURIComponent(ns)}/${kind === 'Deployment' ? 'deployments' : 'cronjobs'}`;
    const selector = encodeURIComponent(selectorFor(this.ctx.cluster.name));
    m = new Mirror<KubernetesObject>(
      {
        list: async (): Promise<Listed<KubernetesObject>> => {
          const now = await this.connect();
          let rv = '';
          const items = await listAll(async (cont) => {
            const page = await now.ctx.call({ verb: 'list', resource, namespace: ns }, () =>
              getJSON<{ items: KubernetesObject[]; metadata?: { continue?: string; resourceVersion?: string } }>(now.conn.kc, `${now.conn.server}${collection}?labelSelector=${selector}&limit=500${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`),
            );
            rv = page.metadata?.resourceVersion ?? rv;
            return { items: page.items ?? [], metadata: { _continue: page.metadata?.continue } };
          });
          return { items, resourceVersion: rv };
        },
        watch: async (rv, on) => {
          const now = await this.connect();
          // As client-go's reflector: bookmarks keep the resourceVersion fresh, and the API server ends the watch after a randomised while.
          const timeout = 300 + Math.floor(Math.random() * 300);
          return watchJSON(now.conn.kc, `${now.conn.server}${collection}?watch=true&labelSelector=${selector}&resourceVersion=${encodeURIComponent(rv)}&allowWatchBookmarks=true&timeoutSeconds=${timeout}`, on);
        },
      },
      { watchFrom: this.ctx.watch === false ? Infinity : 2, settleMs: 2000 },
    );
    this.mirrors.set(key, m);
    return m;
  }

  /** The DeployState of a workload, made again only when its resourceVersion moved. */
  private stateOf(o: KubernetesObject, kind: Workload, server: string, seen: Set<string>): DeployState | undefined {
    const uid = o.metadata?.uid ?? `${kind}/${o.metadata?.name}`;
    const rv = o.metadata?.resourceVersion ?? '';
    seen.add(uid);
    let hit = this.states.get(uid);
    if (!hit || hit.rv !== rv || !rv) {
      const state = kind === 'Deployment' ? stateFromDeployment(o as V1Deployment, this.ctx.cluster.name, server, this.ctx.basePort) : stateFromCronJob(o as V1CronJob, this.ctx.cluster.name, server, this.ctx.basePort);
      hit = { rv, json: state && JSON.stringify(state) };
      this.states.set(uid, hit);
    }
    return hit.json === undefined ? undefined : (JSON.parse(hit.json) as DeployState);
  }

  private async call<T>(apis: Apis, conn: Connection, what: CallInfo, fn: () => Promise<T>): Promise<T> {
    try {
      return await call(what, apis.server, this.ctx.requestTimeoutMs, fn);
    } catch (e) {
      // An exec plugin's credential the API server no longer takes is fetched again on the next use, as kubectl does.
      if (conn.exec && isSousError(e) && e.details?.status === 401) this.exec.forget();
      throw e;
    }
  }

  /**
   * What runs: the cluster's Deployments and CronJobs with Sous's labels, as
   * DeployStates. The first read lists them; from the second on (a
   * long-lived process), a watch keeps them (see Mirror).
   */
  async actual(): Promise<DeployState[]> {
    const s = await this.connect();
    const [deployments, cronJobs] = await Promise.all([this.mirror(s, 'Deployment').read(), this.mirror(s, 'CronJob').read()]);
    const seen = new Set<string>();
    const states = [...deployments.map((d) => this.stateOf(d, 'Deployment', s.apis.server, seen)), ...cronJobs.map((j) => this.stateOf(j, 'CronJob', s.apis.server, seen))];
    for (const uid of this.states.keys()) if (!seen.has(uid)) this.states.delete(uid);
    return states.filter((x): x is DeployState => x !== undefined).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async apply(action: Action, opts: ApplyOptions): Promise<ActionOutcome> {
    const t0 = Date.now();
    const done: Done = (resolution, status, message) => ({ action, resolution, status, ...(message ? { message } : {}), attempts: 1, durationMs: Date.now() - t0 });
    const { prior, post } = action;
    if (action.kind === 'report-removed') return done('not deleted', 'Active', action.reason);
    const s = await this.connect((message) => opts.onProgress?.({ phase: 'apply', message }));
    if (action.kind === 'delete') {
      if (!prior) throw new SousError('KUBERNETES_BAD_ACTION', `delete of ${action.deploymentID} has nothing to delete`);
      await this.remove(s, prior, refOf(prior));
      return done('deleted', 'Active');
    }
    if (!post) throw new SousError('KUBERNETES_BAD_ACTION', `${action.kind} of ${action.deploymentID} has no intended deployment`);
    const workload = workloadOf(post.kind);
    const name = objectName(post.manifestID, post.id);
    const ok = action.kind === 'create' ? 'created' : 'updated';
    const notOk = action.kind === 'create' ? 'not created' : 'not updated';
    const before = refOf(prior);
    const image = imageFor(post, this.ctx.registry, this.ctx.registries);
    const secretValues = this.secretValues(post, opts);
    const build: BuildContext = {
      namespace: s.conn.namespace,
      image,
      basePort: this.ctx.basePort,
      serviceName: await this.serviceName(s, post, before),
      // A forced redeploy of an unchanged spec must still replace the pods: a new template annotation rolls them, as `kubectl rollout restart` does; otherwise the last one is kept, or dropping it would roll them too.
      restartedAt: action.force ? new Date().toISOString() : before.restartedAt,
      restricted: this.ctx.restricted,
      stored: opts.stored,
      secretName: secretValues ? secretName(name) : undefined,
    };
    // Every object is made (and checked) before the first write, so bad settings change nothing.
    const account = desiredServiceAccount(post, build);
    if (workload === 'CronJob') {
      const job = desiredCronJob(post, build);
      build.pullSecret = await this.applyPullSecret(s, image);
      if (build.pullSecret) job.spec!.jobTemplate.spec!.template.spec!.imagePullSecrets = [{ name: build.pullSecret }];
      if (before.workload && before.workload !== workload) await this.remove(s, prior!, { ...before, service: undefined, route: undefined, secret: undefined });
      await applyObject(s.ctx, 'ServiceAccount', account, post.id);
      const owner = await this.applySecret(s, post, build, secretValues, before, workload);
      opts.onProgress?.({ phase: 'apply', message: `cronjob ${name}` });
      const applied = await applyObject(s.ctx, 'CronJob', job, post.id);
      await this.ownSecret(s, post, build, secretValues, owner, { kind: workload, name, uid: applied.metadata?.uid });
      await this.tidyCompanions(s, before, undefined, undefined, build.secretName);
      return done(ok, 'Active');
    }
    const deployment = desiredDeployment(post, build);
    const svc = desiredService(post, build);
    const kind = routeKind(post);
    const route = kind === 'Ingress' ? desiredIngress(post, build) : kind === 'HTTPRoute' ? (desiredHTTPRoute(post, build) as unknown as KubernetesObject) : undefined;
    build.pullSecret = await this.applyPullSecret(s, image);
    if (build.pullSecret) deployment.spec!.template.spec!.imagePullSecrets = [{ name: build.pullSecret }];
    if (before.workload && before.workload !== workload) await this.remove(s, prior!, { ...before, service: undefined, route: undefined, secret: undefined });
    await applyObject(s.ctx, 'ServiceAccount', account, post.id);
    // The Secret is written before the pod template that reads it, so new pods never start with the old values.
    const owner = await this.applySecret(s, post, build, secretValues, before, workload);
    opts.onProgress?.({ phase: action.kind === 'scale' ? 'scale' : 'apply', message: `deployment ${name}${post.spec.Autoscaled ? ' (replicas left to the autoscaler)' : ` (${post.spec.NumInstances ?? 0} replicas)`}` });
    if (post.spec.Autoscaled && before.replicasBySous && before.replicas !== undefined) {
      // Sous owned replicas: a hand-over manager takes a share first, so dropping the field from Sous's apply does not reset it to 1.
      await applyAs(s.ctx, 'Deployment', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: s.conn.namespace }, spec: { replicas: before.replicas } } as KubernetesObject, HANDOVER_MANAGER);
    }
    const applied = await applyObject(s.ctx, 'Deployment', deployment, post.id);
    await this.ownSecret(s, post, build, secretValues, owner, { kind: workload, name, uid: applied.metadata?.uid });
    if (svc) await applyObject(s.ctx, 'Service', svc, post.id);
    if (kind && route) await applyObject(s.ctx, kind, route, post.id);
    // A Secret no longer wanted goes once the rollout is done: until then, old pods that restart still read it.
    await this.tidyCompanions(s, before, svc ? build.serviceName : undefined, kind ? { kind, name: build.serviceName } : undefined, build.secretName ?? before.secret);
    const outcome = await this.waitRollout(s, name, (applied as V1Deployment).metadata?.generation ?? 0, opts, done, ok, notOk);
    if (outcome.status === 'Active' && before.secret && !build.secretName) await deleteObject(s.ctx, 'Secret', before.secret);
    return outcome;
  }

  /**
   * The values of the deployment's secrets (ApplyOptions.secrets), or
   * undefined when it has none; a spec naming secrets without their values
   * (the scheduler driven without the rectifier) is refused before any write.
   */
  private secretValues(post: DeployState, opts: ApplyOptions): Readonly<Record<string, string>> | undefined {
    const names = Object.keys(post.spec.Secrets ?? {}).sort();
    if (!names.length) return undefined;
    const missing = names.filter((n) => typeof opts.secrets?.[n] !== 'string');
    if (missing.length) {
      throw usageError('KUBERNETES_NO_SECRET_VALUES', `${post.id} names the secret(s) ${missing.join(', ')}, but no value was given for them`, {
        hints: ['Secrets are resolved by the rectifier (sous rectify, sous deploy, the server): run the deployment through it, with the secret provider configured'],
      });
    }
    return opts.secrets;
  }

  /**
   * Applies the deployment's Secret before its workload: owned by the
   * workload already there (its uid from the last read), else with no owner
   * yet (the workload is about to be made). Returns the owner it was given.
   */
  private async applySecret(s: Session, post: DeployState, build: BuildContext, values: Readonly<Record<string, string>> | undefined, before: LiveRef, workload: Workload): Promise<Owner | undefined> {
    if (!values) return undefined;
    const owner: Owner | undefined = before.workload === workload && before.uid && before.name ? { kind: workload, name: before.name, uid: before.uid } : undefined;
    s.ctx.progress?.(`secret ${build.secretName} (${Object.keys(values).length} value(s))`);
    await applyObject(s.ctx, 'Secret', desiredSecret(post, build, values, owner), post.id);
    return owner;
  }

  /** Gives the Secret its owner once the workload exists (made now, or made again by someone since the last read). */
  private async ownSecret(s: Session, post: DeployState, build: BuildContext, values: Readonly<Record<string, string>> | undefined, had: Owner | undefined, now: Partial<Owner>): Promise<void> {
    if (!values || !now.uid || had?.uid === now.uid) return;
    await applyObject(s.ctx, 'Secret', desiredSecret(post, build, values, { kind: now.kind!, name: now.name!, uid: now.uid }), post.id);
  }

  async *streamLogs(deploymentID: string, req: LogRequest): AsyncIterable<LogLine> {
    const { apis, conn, ctx } = await this.connect();
    yield* podLogs({ kc: conn.kc, apis, namespace: conn.namespace, call: ctx.call }, deploymentID, req);
  }

  async lease(holder: string, ttlMs: number): Promise<Lease | undefined> {
    const s = await this.connect();
    return takeLease({ apis: s.apis, namespace: s.conn.namespace, cluster: this.ctx.cluster.name, call: (what, fn) => s.ctx.call(what, fn) }, holder, ttlMs);
  }

  /**
   * The Service's name: the one it already has, else `<name>[-<flavor>]`
   * when that is free or already this deployment's, else the workload's own
   * unique name (another application took the guessable one).
   */
  private async serviceName(s: Session, post: DeployState, before: LiveRef): Promise<string> {
    const own = objectName(post.manifestID, post.id);
    if (post.kind !== 'http-service') return own;
    if (before.service) return before.service;
    const guess = guessableName(post.manifestID);
    const taken = await readObject(s.ctx, 'Service', guess);
    if (!taken || ownedBy(taken, post.id)) return guess;
    s.ctx.progress?.(`service name ${guess} is taken by ${taken.metadata?.annotations?.['sous.dev/deployment-id'] ?? 'another application'}; using ${own}`);
    return own;
  }

  /** The registry's pull secret, applied when the registry needs credentials; its name, or undefined for anonymous pulls. */
  private async applyPullSecret(s: Session, image: string): Promise<string | undefined> {
    if (!this.ctx.pullCredentials) return undefined;
    const registry = registryOf(image);
    const cred = await this.ctx.pullCredentials(registry);
    if (!cred) return undefined;
    const secret = pullSecret(registry, cred, s.conn.namespace);
    await applyObject(s.ctx, 'Secret', secret);
    return secret.metadata!.name;
  }

  /** Deletes the Service, route and Secret a deployment had and no longer has. */
  private async tidyCompanions(s: Session, before: LiveRef, service: string | undefined, route: { kind: Kind; name: string } | undefined, secret?: string): Promise<void> {
    if (before.service && before.service !== service) await deleteObject(s.ctx, 'Service', before.service);
    if (before.route && (before.route.kind !== route?.kind || before.route.name !== route?.name)) await deleteObject(s.ctx, before.route.kind, before.route.name);
    if (before.secret && before.secret !== secret) await deleteObject(s.ctx, 'Secret', before.secret);
  }

  /** Deletes the workload (its Secret goes with it: the garbage collector follows its ownerReference), its Service, route and ServiceAccount. */
  private async remove(s: Session, prior: DeployState, ref: LiveRef): Promise<void> {
    const name = ref.name ?? objectName(prior.manifestID, prior.id);
    await deleteObject(s.ctx, ref.workload ?? workloadOf(prior.kind), name);
    await this.tidyCompanions(s, { ...ref, secret: undefined }, undefined, undefined);
    await deleteObject(s.ctx, 'ServiceAccount', name);
  }

  /** Reads the Deployment until its rollout of `generation` is complete, failed, or the time is up. */
  private async waitRollout(s: Session, name: string, generation: number, opts: ApplyOptions, done: Done, ok: 'created' | 'updated', notOk: 'not created' | 'not updated'): Promise<ActionOutcome> {
    const deadline = Date.now() + opts.timeoutMs;
    const ns = s.conn.namespace;
    let last = 'not read yet';
    for (;;) {
      let d: V1Deployment | undefined;
      try {
        d = await s.ctx.call({ verb: 'get', resource: 'deployments.apps', name, namespace: ns }, () => s.apis.apps.readNamespacedDeployment({ name, namespace: ns }));
      } catch (e) {
        // A passing failure to read is not the rollout's; keep watching until the time is up.
        if (!(isSousError(e) && e.details?.retryable === true)) throw e;
      }
      if (d) {
        const r = rolloutOf(d, generation);
        if (r.state === 'done') return done(ok, 'Active');
        if (r.state === 'failed') return done(notOk, 'Failed', `${r.message} (deployment ${ns}/${name})`);
        last = r.message;
        opts.onProgress?.({ phase: 'waiting', message: r.message });
      }
      const left = deadline - Date.now();
      if (left <= 0 || opts.signal?.aborted) return done('coming', 'Pending', `rollout of ${ns}/${name} not finished after ${duration(opts.timeoutMs)}: ${last}`);
      await sleep(Math.min(this.ctx.pollMs, left), opts.signal);
    }
  }
}

/** What an earlier read saw of a deployment's objects (DeployState.ref). */
function refOf(s: DeployState | undefined): LiveRef {
  return (s?.ref ?? {}) as LiveRef;
}

function mirrorKey(server: string, namespace: string, kind: string): string {
  return `${server}|${namespace}|${kind}`;
}
