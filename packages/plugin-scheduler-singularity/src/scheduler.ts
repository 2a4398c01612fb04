import * as crypto from 'node:crypto';
import { comparableJSON, failure, isSousError, sleep, SousError, usageError, type Action, type ActionOutcome, type ApplyOptions, type ClusterRef, type DeployState, type LogLine, type LogRequest, type RegistryConfig, type Scheduler } from '@sous/core';
import { checkLogRequest, sandboxLogs } from './logs';
import type { SingularityClient } from './client';
import type { DeployHistory, RequestParent } from './dto';
import { newDeployID, requestIDFor } from './ids';
import { stateFromSingularity, statusOf } from './read';
import { deployBody, deployMessage, healthcheckFor, imageFor, isLongRunning, REQUEST_TYPES, requestBody, resourcesWire, sortedEnv, volumesWire } from './wire';

/** What a SingularityScheduler needs besides the cluster. */
export interface SingularityContext {
  cluster: ClusterRef;
  client: SingularityClient;
  /** The registry images are named in (the cluster's own, or Sous's). */
  registry?: string;
  /** The config's registry settings: the image name template of that registry. */
  registries?: RegistryConfig;
  /** Who deploys, for Singularity's history (`?user=`). */
  user: string;
  /** How often to ask whether a deploy or scale has finished. */
  pollMs: number;
}

const enc = encodeURIComponent;

function duration(ms: number): string {
  return ms < 10_000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`;
}

function retryable(e: unknown): boolean {
  return isSousError(e) && e.details?.retryable === true;
}

/** The request fields whose change needs POST /api/requests (the original's rule). */
function requestChanged(prior: DeployState, post: DeployState): boolean {
  const type = REQUEST_TYPES[post.kind];
  return (
    REQUEST_TYPES[prior.kind] !== type ||
    (isLongRunning(type) && (prior.spec.NumInstances ?? 0) !== (post.spec.NumInstances ?? 0)) ||
    comparableJSON([...prior.owners].sort()) !== comparableJSON([...post.owners].sort()) ||
    (type === 'SCHEDULED' && (prior.spec.Schedule ?? '') !== (post.spec.Schedule ?? ''))
  );
}

/** The fields whose change needs a new deploy: what Singularity runs, as it would be sent. */
function deployKey(s: DeployState): string {
  const sp = s.spec;
  return comparableJSON([sp.Version ?? '', sp.Digest ?? '', resourcesWire(sp), sortedEnv(sp.Env), volumesWire(sp.Volumes), healthcheckFor(sp.Startup) ?? null, sp.Args ?? [], sortedEnv(sp.Metadata), sortedEnv(sp.Secrets), sortedEnv(s.secrets)]);
}

/** The values of the deployment's secrets; a spec naming secrets without their values (the scheduler driven without the rectifier) is refused. */
function secretValues(post: DeployState, opts: ApplyOptions): Readonly<Record<string, string>> | undefined {
  const names = Object.keys(post.spec.Secrets ?? {}).sort();
  if (!names.length) return undefined;
  const missing = names.filter((n) => typeof opts.secrets?.[n] !== 'string');
  if (missing.length) {
    throw usageError('SINGULARITY_NO_SECRET_VALUES', `${post.id} names the secret(s) ${missing.join(', ')}, but no value was given for them`, {
      hints: ['Secrets are resolved by the rectifier (sous rectify, sous deploy, the server): run the deployment through it, with the secret provider configured'],
    });
  }
  return opts.secrets;
}

/**
 * One Singularity cluster as a Sous scheduler. Reads every request Sous
 * made for this cluster (recognised by its deploy metadata), and carries out
 * actions the way the original Sous did: a request, then a deploy, then
 * polling the deploy's history until it succeeds or fails.
 */
export class SingularityScheduler implements Scheduler {
  readonly kind = 'singularity';

  constructor(private readonly ctx: SingularityContext) {}

  private get name(): string {
    return this.ctx.cluster.name;
  }

  async actual(): Promise<DeployState[]> {
    const parents = (await this.ctx.client.get<RequestParent[]>('/api/requests')) ?? [];
    const live = parents.filter((p) => p?.request?.id && p.state !== 'DELETED' && p.state !== 'DELETING');
    const states = await Promise.all(live.map((p) => this.read(p)));
    return states.filter((s): s is DeployState => s !== undefined).sort((a, b) => a.id.localeCompare(b.id));
  }

  /** The DeployState of one request: its pending deploy, or else the newest in its history. */
  private async read(parent: RequestParent): Promise<DeployState | undefined> {
    const rid = parent.request.id;
    const base = { cluster: this.name, baseURL: this.ctx.client.base, parent };
    const pendingMarker = parent.requestDeployState?.pendingDeploy;
    if (pendingMarker && parent.pendingDeploy?.id === pendingMarker.deployId) {
      return stateFromSingularity({ ...base, history: { deployMarker: pendingMarker, deploy: parent.pendingDeploy }, pending: true });
    }
    let marker = pendingMarker;
    if (!marker) {
      const list = (await this.ctx.client.get<DeployHistory[]>(`/api/history/request/${enc(rid)}/deploys`, { count: 1, page: 1 })) ?? [];
      marker = list[0]?.deployMarker;
    }
    if (!marker) return undefined;
    try {
      const history = await this.ctx.client.get<DeployHistory>(`/api/history/request/${enc(rid)}/deploy/${enc(marker.deployId)}`);
      return stateFromSingularity({ ...base, history: history ?? {}, pending: marker === pendingMarker });
    } catch (e) {
      if (isSousError(e) && e.code === 'SINGULARITY_NOT_FOUND') return undefined;
      throw e;
    }
  }

  /** The output of the deployment's active tasks, from their sandboxes; the request is found as actual() finds it. */
  async *streamLogs(deploymentID: string, req: LogRequest): AsyncIterable<LogLine> {
    checkLogRequest(req);
    const d = (await this.actual()).find((s) => s.id === deploymentID);
    const requestId = d?.ref?.requestId;
    if (typeof requestId !== 'string') {
      throw failure('NO_INSTANCES', `${deploymentID} runs nothing on Singularity at ${this.ctx.client.base}`, { hints: ['See what runs: sous status', 'Deploy it: sous deploy --tag VERSION'] });
    }
    yield* sandboxLogs({ client: this.ctx.client, pollMs: this.ctx.pollMs }, deploymentID, requestId, req);
  }

  async apply(action: Action, opts: ApplyOptions): Promise<ActionOutcome> {
    const t0 = Date.now();
    const done = (resolution: ActionOutcome['resolution'], status: ActionOutcome['status'], message?: string): ActionOutcome => ({
      action,
      resolution,
      status,
      ...(message ? { message } : {}),
      attempts: 1,
      durationMs: Date.now() - t0,
    });
    const target = action.post ?? action.prior;
    if (!target) throw new SousError('SINGULARITY_BAD_ACTION', `action ${action.kind} on ${action.deploymentID} has no deployment to act on`);
    const rid = this.requestID(action.prior, target);
    // A deploy that would lack its secrets' values is refused before anything is written.
    if ((action.kind === 'create' || action.kind === 'update') && action.post) secretValues(action.post, opts);
    switch (action.kind) {
      case 'report-removed':
        return done('not deleted', 'Active', action.reason);
      case 'delete': {
        opts.onProgress?.({ phase: 'delete', message: `deleting request ${rid}` });
        try {
          await this.ctx.client.call('DELETE', `/api/requests/request/${enc(rid)}`, { body: { message: deployMessage(target, action.reason) } });
        } catch (e) {
          if (!(isSousError(e) && e.code === 'SINGULARITY_NOT_FOUND')) throw e;
        }
        return done('deleted', 'Active');
      }
      case 'scale': {
        const post = action.post!;
        if (!isLongRunning(REQUEST_TYPES[post.kind])) {
          // Only services and workers scale; for the others the count is recorded with a new deploy.
          const did = await this.postDeploy(post, rid, imageFor(post, this.ctx.registry, this.ctx.registries), action.reason, opts);
          return this.waitDeploy(rid, did, opts, done, 'updated', 'not updated');
        }
        const n = post.spec.NumInstances ?? 0;
        opts.onProgress?.({ phase: 'scale', message: `scaling request ${rid} to ${n}` });
        await this.ctx.client.call('PUT', `/api/requests/request/${enc(rid)}/scale`, {
          body: { instances: n, message: deployMessage(post, action.reason), actionId: `SOUS_RECTIFY_${crypto.randomUUID().replace(/-/g, '')}`, skipHealthchecks: false },
        });
        return this.waitInstances(rid, n, opts, done, 'updated');
      }
      case 'create': {
        const post = action.post!;
        const image = imageFor(post, this.ctx.registry, this.ctx.registries);
        await this.postRequest(post, rid, opts);
        const did = await this.postDeploy(post, rid, image, action.reason, opts);
        return this.waitDeploy(rid, did, opts, done, 'created', 'not created');
      }
      case 'update': {
        const post = action.post!;
        const prior = action.prior;
        const newDeploy = !prior || action.force || prior.status === 'Failed' || deployKey(prior) !== deployKey(post);
        const image = newDeploy ? imageFor(post, this.ctx.registry, this.ctx.registries) : '';
        if (!prior || requestChanged(prior, post)) await this.postRequest(post, rid, opts);
        if (newDeploy) {
          const did = await this.postDeploy(post, rid, image, action.reason, opts);
          return this.waitDeploy(rid, did, opts, done, 'updated', 'not updated');
        }
        return this.waitInstances(rid, post.spec.NumInstances ?? 0, opts, done, 'updated');
      }
      default:
        throw new SousError('SINGULARITY_BAD_ACTION', `unknown action kind ${JSON.stringify(action.kind)}`);
    }
  }

  private requestID(prior: DeployState | undefined, target: DeployState): string {
    const known = prior?.ref?.requestId;
    if (typeof known === 'string' && known) return known;
    return target.spec.SingularityRequestID || requestIDFor(target.manifestID, target.cluster);
  }

  private async postRequest(post: DeployState, rid: string, opts: ApplyOptions): Promise<void> {
    opts.onProgress?.({ phase: 'request', message: `request ${rid}` });
    await this.ctx.client.call('POST', '/api/requests', { body: requestBody(post, rid) });
  }

  private async postDeploy(post: DeployState, rid: string, image: string, why: string, opts: ApplyOptions): Promise<string> {
    const deployId = newDeployID(post.spec.Version ?? '0');
    const body = deployBody(post, { requestId: rid, deployId }, image, { secrets: secretValues(post, opts), stored: opts.stored });
    opts.onProgress?.({ phase: 'deploy', message: `deploy ${deployId} of ${image}` });
    await this.ctx.client.call('POST', '/api/deploys', { query: { user: this.ctx.user }, body: { deploy: body, message: deployMessage(post, why) } });
    return deployId;
  }

  /** Polls the deploy's history until it has a result, or the time is up (then it is still coming). */
  private async waitDeploy(rid: string, did: string, opts: ApplyOptions, done: Done, ok: 'created' | 'updated', notOk: 'not created' | 'not updated'): Promise<ActionOutcome> {
    const deadline = Date.now() + opts.timeoutMs;
    for (;;) {
      let history: DeployHistory | undefined;
      try {
        history = await this.ctx.client.get<DeployHistory>(`/api/history/request/${enc(rid)}/deploy/${enc(did)}`);
      } catch (e) {
        // Singularity may not have recorded a deploy it just accepted; a passing failure is not the deploy's.
        if (!(retryable(e) || (isSousError(e) && e.code === 'SINGULARITY_NOT_FOUND'))) throw e;
      }
      const st = statusOf(history?.deployResult);
      if (st.status === 'Active') return done(ok, 'Active');
      if (st.status === 'Failed') return done(notOk, 'Failed', `${st.message} (${this.ctx.client.base}/request/${rid}/deploy/${did})`);
      opts.onProgress?.({ phase: 'waiting', message: `deploy ${did} pending` });
      const left = deadline - Date.now();
      if (left <= 0 || opts.signal?.aborted) return done('coming', 'Pending', `deploy ${did} still pending after ${duration(opts.timeoutMs)}`);
      await sleep(Math.min(this.ctx.pollMs, left), opts.signal);
    }
  }

  /** Polls the request until it asks for `n` instances and, for long-running requests, that many of the active deploy's tasks are healthy. */
  private async waitInstances(rid: string, n: number, opts: ApplyOptions, done: Done, ok: 'updated'): Promise<ActionOutcome> {
    const deadline = Date.now() + opts.timeoutMs;
    for (;;) {
      let parent: RequestParent | undefined;
      try {
        parent = await this.ctx.client.get<RequestParent>(`/api/requests/request/${enc(rid)}`);
      } catch (e) {
        if (!retryable(e)) throw e;
      }
      if (parent) {
        const active = parent.requestDeployState?.activeDeploy?.deployId;
        const healthy = (parent.taskIds?.healthy ?? []).filter((t) => !active || t.deployId === active).length;
        if ((parent.request.instances ?? 1) === n && (!isLongRunning(parent.request.requestType) || !parent.taskIds || healthy === n)) return done(ok, 'Active');
        opts.onProgress?.({ phase: 'waiting', message: `${healthy}/${n} healthy` });
      }
      const left = deadline - Date.now();
      if (left <= 0 || opts.signal?.aborted) return done('coming', 'Pending', `request ${rid} not at ${n} healthy instance(s) after ${duration(opts.timeoutMs)}`);
      await sleep(Math.min(this.ctx.pollMs, left), opts.signal);
    }
  }
}

type Done = (resolution: ActionOutcome['resolution'], status: ActionOutcome['status'], message?: string) => ActionOutcome;
