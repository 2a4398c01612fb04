import * as crypto from 'node:crypto';
import type { ApplyOptions, DeployState } from '@sous/core';
import { containerLogs, createContainer, deploymentInstances, ensureImage, inspectInstance, removeContainer, startContainer, stopContainer, type Instance } from './containers';
import type { Engine } from './engine';
import { containerPorts, envList, imageReference, instanceEnv, limits } from './instance';
import { configHash, deploymentLabels, LABELS, slug } from './labels';
import type { ClusterSettings } from './options';
import { withLogLines, type RolloutResult } from './outcome';
import { readinessFor, waitReady, type InstanceView, type WaitResult } from './probe';

/** Exit codes of a process ended by SIGINT, SIGKILL or SIGTERM. */
const SIGNAL_EXITS = new Set([130, 137, 143]);
/** How long an instance stopped by a signal may take to come back before it counts as failed. */
const ENGINE_RESTART_GRACE_MS = 30_000;
/** How long a container that restarted may take to crash again, so its exit code can be read. */
const RESTART_SETTLE_MS = 2000;

/** The container a deployment's instances are created from. */
export function containerBody(post: DeployState, s: ClusterSettings, image: string, config: string, opts: Pick<ApplyOptions, 'secrets' | 'stored'> = {}): Record<string, unknown> {
  const ports = containerPorts(post.spec, s.containerPort);
  const { nanoCpus, memoryBytes } = limits(post.spec);
  return {
    Image: image,
    // Secrets reach the process in its environment at create, and nowhere else: the labels keep keyed hashes.
    Env: envList({ ...instanceEnv(post.spec, ports, s.taskHost), ...(opts.secrets ?? {}) }),
    ...(post.spec.Args?.length ? { Cmd: post.spec.Args } : {}),
    Labels: deploymentLabels(post, config, s.gdm, opts.stored),
    ExposedPorts: Object.fromEntries(ports.map((p) => [`${p}/tcp`, {}])),
    StopSignal: 'SIGTERM',
    StopTimeout: s.stopGraceSeconds,
    HostConfig: {
      // An empty HostPort asks the engine for an ephemeral one.
      PortBindings: Object.fromEntries(ports.map((p) => [`${p}/tcp`, [{ HostIp: s.bindAddress, HostPort: '' }]])),
      ...(nanoCpus ? { NanoCpus: nanoCpus } : {}),
      ...(memoryBytes ? { Memory: memoryBytes } : {}),
      Binds: (post.spec.Volumes ?? []).map((v) => `${v.Host}:${v.Container}:${v.Mode === 'RO' ? 'ro' : 'rw'}`),
      // unless-stopped: instances come back after an engine restart, and stay down once Sous stops them.
      RestartPolicy: { Name: 'unless-stopped' },
      Init: s.init,
    },
  };
}

/**
 * Brings one deployment to its intended state on one engine, deciding
 * everything from the containers' labels, so running it again after a crash
 * (or from another process) continues instead of duplicating: instances of
 * the intended configuration are kept (and checked), missing ones are
 * started one at a time while instances of an earlier configuration remain,
 * each old one stopped only once a new one is ready. A new instance that
 * fails puts the old ones back.
 */
export class Rollout {
  private readonly config: string;
  private readonly want: number;
  private readonly deadline: number;
  private readonly started: string[] = [];
  private readonly stopped: Instance[] = [];

  constructor(
    private readonly engine: Engine,
    private readonly s: ClusterSettings,
    private readonly post: DeployState,
    private readonly opts: ApplyOptions,
    /** Replace every instance, also those already at the intended configuration (a forced redeploy). */
    private readonly force = false,
  ) {
    this.config = configHash(post, true);
    this.want = post.spec.NumInstances ?? 0;
    this.deadline = Date.now() + opts.timeoutMs;
  }

  private progress(message: string): void {
    this.opts.onProgress?.({ phase: 'rollout', message });
  }

  async run(): Promise<RolloutResult> {
    const all = await deploymentInstances(this.engine, this.s.cluster, this.post.id, this.s.gdm);
    let old = all.filter((c) => c.config !== this.config || (this.force && c.state === 'running'));
    const current = all.filter((c) => !old.includes(c));
    // Leftovers that serve nothing: stopped or crashing instances of any configuration.
    for (const c of [...old, ...current].filter((x) => !['running', 'created'].includes(x.state))) await removeContainer(this.engine, c.id);
    old = old.filter((c) => c.state === 'running');
    const ready: string[] = [];
    const candidates = current.filter((c) => ['running', 'created'].includes(c.state));
    if (candidates.length) this.progress(`checking ${candidates.length} instance(s) already at this configuration`);
    const checks = await Promise.all(
      candidates.map(async (c) => {
        if (c.state === 'created') await startContainer(this.engine, c.id);
        return { c, r: await this.watch(c.id) };
      }),
    );
    for (const { c, r } of checks) {
      if (r.status === 'ready') ready.push(c.id);
      else if (r.status === 'pending') return { status: 'Pending', message: r.message };
      else await removeContainer(this.engine, c.id);
    }
    // Scaling down: the newest go first.
    while (ready.length > this.want) await this.retire(ready.pop()!);
    if (ready.length < this.want) await ensureImage(this.engine, imageReference(this.post, this.s.def, this.s.registries), (m) => this.progress(m), this.s.registries);
    while (ready.length < this.want) {
      const batch = old.length ? 1 : this.want - ready.length;
      this.progress(`starting ${batch} instance(s) of ${this.post.spec.Version}`);
      const results = await Promise.all(Array.from({ length: batch }, () => this.startOne()));
      const failed = results.find((r) => r.result.status === 'failed');
      if (failed) return { status: 'Failed', message: `${await this.describeFailure(failed.id, failed.result.message)}${await this.rollback()}` };
      const pending = results.find((r) => r.result.status === 'pending');
      if (pending) return { status: 'Pending', message: pending.result.message };
      ready.push(...results.map((r) => r.id));
      if (old.length) {
        const o = old.shift()!;
        this.progress(`stopping ${o.name} (${o.labels[LABELS.version] ?? 'earlier configuration'})`);
        await stopContainer(this.engine, o.id, this.s.stopGraceSeconds);
        this.stopped.push(o);
      }
    }
    for (const o of old) await this.retire(o.id);
    for (const o of this.stopped) await removeContainer(this.engine, o.id);
    return { status: 'Active', message: `${ready.length} instance(s) of ${this.post.spec.Version} ready` };
  }

  private async retire(id: string): Promise<void> {
    await stopContainer(this.engine, id, this.s.stopGraceSeconds);
    await removeContainer(this.engine, id);
  }

  private async startOne(): Promise<{ id: string; result: WaitResult }> {
    const name = `sous-${slug(this.post.id, 48)}-${crypto.randomBytes(4).toString('hex')}`;
    const id = await createContainer(this.engine, name, containerBody(this.post, this.s, imageReference(this.post, this.s.def, this.s.registries), this.config, this.opts));
    this.started.push(id);
    await startContainer(this.engine, id);
    return { id, result: await this.watch(id) };
  }

  /** Waits until an instance is ready by the deployment's Startup settings. */
  private async watch(id: string): Promise<WaitResult> {
    const ports = containerPorts(this.post.spec, this.s.containerPort);
    const readiness = readinessFor(this.post.kind, this.post.spec.Startup, ports.length);
    let baseline: number | undefined;
    let signalledAt: number | undefined;
    let restartedAt: number | undefined;
    const look = async (): Promise<InstanceView> => {
      const d = await inspectInstance(this.engine, id);
      if (!d) return { state: 'failed', reason: `container ${id.slice(0, 12)} was removed` };
      baseline ??= d.restartCount;
      // An engine shutting down stops its containers with SIGTERM (or SIGKILL) and starts them again
      // when it comes back (restart policy unless-stopped): wait for that rather than fail the instance.
      if (d.state === 'exited' && !d.oomKilled && SIGNAL_EXITS.has(d.exitCode) && d.restartCount === baseline) {
        signalledAt ??= Date.now();
        if (Date.now() - signalledAt < ENGINE_RESTART_GRACE_MS) return { state: 'starting', reason: `container ${d.name} was stopped by a signal (its engine restarting?)` };
      } else signalledAt = undefined;
      // Restarted and running again: the engine has reset its exit code, so give the crash a moment to
      // show itself once more with a code, and only then call it by its restarts.
      if (d.state === 'running' && d.restartCount > baseline) {
        restartedAt ??= Date.now();
        if (Date.now() - restartedAt < RESTART_SETTLE_MS) return { state: 'starting', reason: `container ${d.name} restarted` };
        return { state: 'failed', reason: `container ${d.name} exited and was restarted ${d.restartCount - baseline} time(s)` };
      }
      const exited = d.state === 'exited' || d.state === 'dead' || d.state === 'restarting';
      if (exited) {
        const why = `container ${d.name} exited with code ${d.exitCode}${d.oomKilled ? ' (out of memory)' : ''}${d.error ? `: ${d.error}` : ''}`;
        return { state: 'failed', reason: why };
      }
      if (d.state !== 'running') return { state: 'starting', reason: `container ${d.name} is ${d.state}` };
      return { state: 'running', host: this.s.probeHost, port: d.ports.get(ports[readiness.portIndex])?.hostPort };
    };
    return waitReady({ readiness, settleMs: this.s.settleMs, deadline: this.deadline, signal: this.opts.signal, look, onProbe: (m) => this.progress(m) });
  }

  private async describeFailure(id: string, message: string): Promise<string> {
    return withLogLines(message, await containerLogs(this.engine, id, this.s.logLines));
  }

  /** Removes what this rollout started and restarts what it stopped; says what it did. */
  private async rollback(): Promise<string> {
    for (const id of this.started) await removeContainer(this.engine, id);
    for (const o of this.stopped) await startContainer(this.engine, o.id);
    return this.stopped.length ? `\n(rolled back: ${this.stopped.length} instance(s) of the earlier version restarted)` : '';
  }
}

/** Stops (gracefully) and removes every instance of a deployment. */
export async function removeDeployment(engine: Engine, s: ClusterSettings, id: string): Promise<number> {
  const all = await deploymentInstances(engine, s.cluster, id, s.gdm);
  await Promise.all(
    all.map(async (c) => {
      if (c.state === 'running') await stopContainer(engine, c.id, s.stopGraceSeconds);
      await removeContainer(engine, c.id);
    }),
  );
  return all.length;
}
