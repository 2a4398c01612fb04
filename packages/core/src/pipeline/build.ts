import * as crypto from 'node:crypto';
import * as path from 'node:path';
import { failure, isSousError, SousError, toSousError, usageError } from '../errors';
import type { Sous } from '../hooks/sous';
import type { StateBackend } from '../ops/backend';
import type { User } from '../gdm/store';
import type { State } from '../gdm/state';
import { formatSourceLocation, type SourceLocation } from '../model/ids';
import { parseVersion } from '../model/version';
import type { ArtifactRecord, Manifest } from '../model/types';
import { readSourceContext } from '../source/git-context';
import { emitEvent } from '../events/emit';
import { declaredArgs, imageLabels, imageName, imageTags, SOUS_LABELS } from './image';
import { checkoutRevision, sourceTreeId } from './source';
import type { Artifact, BuildPlan, BuiltImage, ContractReport, Progress, SourceContext, Workspace } from './types';

export const BUILD_PHASES = ['source', 'plan', 'build', 'test', 'publish', 'sign', 'precache', 'record'] as const;
export type BuildPhase = (typeof BUILD_PHASES)[number];

/** Hears how a build goes: phases starting and ending, and the builder's own progress. */
export interface BuildObserver {
  phase?(phase: BuildPhase, status: 'start' | 'done' | 'skip' | 'fail', detail?: string): void;
  progress?(p: Progress): void;
}

export interface BuildOptions {
  /** The directory to build (an application inside a git repository). */
  dir: string;
  /** Build this version tag from a clean checkout of its commit. */
  tag?: string;
  /** A developer build: allowed without a version tag, marked with an advisory. */
  dev?: boolean;
  /** Fail on any advisory. */
  strict?: boolean;
  /** Rebuild a version that was already built. */
  force?: boolean;
  /** The repository as Sous names it, when the clone's remote URL says otherwise (a mirror, a local clone). */
  repo?: string;
  backend: StateBackend;
  user: User;
  observer?: BuildObserver;
  /**
   * The git facts of `dir`, when the caller started reading them already
   * (`readSourceContext` with the same dir, tag, dev and repo), so that the
   * reading overlaps the caller's own start-up.
   */
  source?: Promise<SourceContext>;
}

export interface BuildResult {
  status: 'built' | 'already-built';
  source: string;
  version: string;
  revision: string;
  image: string;
  reference: string;
  digest: string;
  tags: string[];
  stack?: string;
  advisories: string[];
  contentKey?: string;
  cachedFrom?: string;
  contracts: ArtifactRecord['Contracts'];
  signature?: ArtifactRecord['Signature'];
  precache?: ArtifactRecord['Precache'];
  timings: Partial<Record<BuildPhase, number>>;
}

/** The source as events carry it. */
function eventSource(ctx: SourceContext) {
  return { repo: ctx.repo, offset: ctx.offset, revision: ctx.revision, ...(ctx.tag ? { tag: ctx.tag } : {}) };
}

function emptyPlan(stack: string, dir: string): BuildPlan {
  return { stack, dockerfile: '', contextDir: dir, extraFiles: {}, buildArgs: {}, secrets: {}, labels: {}, inputs: {}, ignore: ['.git'] };
}

/** The manifests of this source location (any flavor): they say the kind and the target clusters. */
function manifestsOf(state: State, sl: SourceLocation): Manifest[] {
  const src = formatSourceLocation(sl);
  return [...state.manifests.values()].map((m) => m.manifest).filter((m) => m.Source === src);
}

function contentKeyOf(tree: string, plan: BuildPlan): string {
  const h = crypto.createHash('sha256');
  h.update(`tree ${tree}\n`);
  h.update(`stack ${plan.stack}\n`);
  h.update(`dockerfile ${plan.dockerfile}\n`);
  const args = Object.entries(plan.buildArgs).filter(([k]) => k !== 'APP_VERSION' && k !== 'APP_REVISION');
  h.update(`args ${JSON.stringify(args.sort())}\n`);
  h.update(`inputs ${JSON.stringify(Object.entries(plan.inputs).sort())}\n`);
  h.update(`target ${plan.target ?? ''}\n`);
  for (const [p, c] of Object.entries(plan.extraFiles).sort(([a], [b]) => a.localeCompare(b))) {
    h.update(`file ${p} ${crypto.createHash('sha256').update(c).digest('hex')}\n`);
  }
  return `sha256:${h.digest('hex')}`;
}

const notPublished = () => failure('NOT_PUBLISHED', 'no plugin published the image', { hints: ['The docker plugin pushes images: is it in the config plugins?'] });

/**
 * `sous build`: source at a tag → stack plan → image → contracts → push by
 * digest → signature → pre-cache → artifact record → `artifact.ready`.
 * A failure at any phase records nothing and is announced as `build.failed`.
 */
/**
 * The result of a build that need not run: the version was built and
 * recorded before. Undefined when it was not.
 */
export async function findBuilt(backend: StateBackend, ctx: SourceContext, versionTag: string, timings: Partial<Record<BuildPhase, number>> = {}): Promise<BuildResult | undefined> {
  const existing = await backend.artifact({ repo: ctx.repo, dir: ctx.offset }, versionTag);
  if (!existing) return undefined;
  return {
    status: 'already-built',
    source: existing.Source,
    version: existing.Version,
    revision: existing.Revision ?? ctx.revision,
    image: existing.Image,
    reference: `${existing.Image}@${existing.Digest}`,
    digest: existing.Digest,
    tags: existing.Tags ?? [],
    stack: existing.Stack,
    advisories: existing.Advisories ?? [],
    contentKey: existing.ContentKey,
    contracts: existing.Contracts,
    signature: existing.Signature,
    precache: existing.Precache,
    timings,
  };
}

export async function build(sous: Sous, opts: BuildOptions): Promise<BuildResult> {
  const obs = opts.observer ?? {};
  const timings: Partial<Record<BuildPhase, number>> = {};
  let phase: BuildPhase = 'source';
  let t0 = Date.now();
  const begin = (p: BuildPhase, detail?: string) => {
    phase = p;
    t0 = Date.now();
    obs.phase?.(p, 'start', detail);
  };
  const end = (detail?: string) => {
    timings[phase] = Date.now() - t0;
    obs.phase?.(phase, 'done', detail);
  };
  const skip = (p: BuildPhase, detail: string) => obs.phase?.(p, 'skip', detail);

  let ctx: SourceContext | undefined;
  let disposeCheckout: (() => Promise<void>) | undefined;
  let disposing: Promise<void> | undefined;
  // Started ahead of the phase that needs them, awaited there; a build that fails before must not leave them unhandled.
  const ahead: Promise<unknown>[] = [];
  const early = <T>(p: Promise<T>): Promise<T> => {
    ahead.push(p.catch(() => undefined));
    return p;
  };
  try {
    begin('source');
    const base = await (opts.source ?? readSourceContext({ dir: opts.dir, tag: opts.tag, dev: opts.dev, repo: opts.repo }));
    ctx = await sous.hooks.sourceContext.promise(base, { dir: opts.dir, tag: opts.tag, dev: opts.dev, repo: opts.repo });
    let version = ctx.version;
    if (!version) {
      if (!opts.dev) {
        throw usageError('NO_VERSION', `the revision ${ctx.revision.slice(0, 12)} has no semver tag, so there is no version to build`, {
          hints: ['Tag the commit and build the tag: git tag 1.2.3 && sous build --tag 1.2.3', 'or make a developer build: sous build --dev'],
        });
      }
      version = `0.0.0-dev.${Date.now()}+${ctx.revision.slice(0, 12)}`;
    }
    if (opts.strict && ctx.advisories.length) {
      throw usageError('ADVISORIES_STRICT', `--strict: the build would carry advisories: ${ctx.advisories.join(', ')}`, {
        hints: ['Commit and push your work, build a pushed semver tag (sous build --tag X), or drop --strict'],
        details: { advisories: ctx.advisories },
      });
    }
    const sl: SourceLocation = { repo: ctx.repo, dir: ctx.offset };
    const versionTag = parseVersion(version).raw;
    if (!opts.force) {
      const done = await findBuilt(opts.backend, ctx, versionTag, timings);
      if (done) {
        end('already built');
        for (const p of BUILD_PHASES.slice(1)) skip(p, 'already built');
        return done;
      }
    }
    // One snapshot of the state serves the whole build (manifests, registry, clusters); the record reads its own.
    const stateRead = early(opts.backend.read());
    const artifactsRead = early(opts.backend.artifacts(sl));
    const treeId = early(sourceTreeId(ctx));
    let buildRoot = ctx.rootDir;
    if (ctx.cleanCheckout) {
      const co = await checkoutRevision(ctx);
      disposeCheckout = co.dispose;
      buildRoot = co.dir;
    }
    const ws: Workspace = { dir: path.join(buildRoot, ctx.offset), context: ctx, config: sous.config };
    const state = await stateRead;
    const manifests = manifestsOf(state, sl);
    const who = ctx.author ?? opts.user;
    const manifestID = formatSourceLocation(sl);
    await emitEvent(sous, { type: 'build.started', manifestID, version: versionTag, source: eventSource(ctx), user: who, advisories: ctx.advisories });
    end(`${formatSourceLocation(sl)} ${versionTag} at ${ctx.revision.slice(0, 12)}${ctx.advisories.length ? ` (advisories: ${ctx.advisories.join(', ')})` : ''}`);

    begin('plan');
    const stack = sous.config.stack ?? (await sous.hooks.detectStack.promise(ws));
    const stacks = sous.stacks();
    if (!stack) {
      throw usageError('NO_STACK', `no stack recognises ${ws.dir}`, {
        hints: [
          `Stacks available: ${stacks.join(', ') || '(none)'}: node (package.json), go (go.mod), java (pom.xml or build.gradle)`,
          'Or add a Dockerfile to the application directory, or a stack plugin in sous.config.ts',
        ],
      });
    }
    if (!stacks.includes(stack)) {
      throw usageError('UNKNOWN_STACK', `no plugin plans builds for stack ${JSON.stringify(stack)}`, { hints: [`Stacks available: ${stacks.join(', ') || '(none)'}`] });
    }
    let plan = await sous.hooks.buildPlan.for(stack).promise(emptyPlan(stack, ws.dir), ws);
    if (!plan.dockerfile) throw failure('EMPTY_PLAN', `the ${stack} stack made no Dockerfile for ${ws.dir}`);
    const declared = declaredArgs(plan.dockerfile);
    if (declared.has('APP_VERSION')) plan.buildArgs.APP_VERSION = versionTag;
    if (declared.has('APP_REVISION')) plan.buildArgs.APP_REVISION = ctx.revision;
    plan = await sous.hooks.finalizePlan.promise(plan, ws);
    const contentKey = contentKeyOf(await treeId, plan);
    plan.labels = { ...plan.labels, ...imageLabels(ctx, versionTag, { [SOUS_LABELS.contentKey]: contentKey, [SOUS_LABELS.stack]: stack }) };
    const registry = sous.config.registry || state.defs.DockerRepo || '';
    const name = imageName(registry, ctx.repo, ctx.offset, sous.config);
    const tags = imageTags(name, versionTag, ctx.revision);
    end(`${stack} stack → ${name}`);

    begin('build');
    const artifacts = await artifactsRead;
    const hit = await sous.hooks.cacheLookup.promise({ contentKey, workspace: ws, plan, tags, artifacts });
    const buildPlan = hit?.cachedFrom ? relabelPlan(plan, hit.cachedFrom) : plan;
    const image = await sous.hooks.buildImage.promise({ workspace: ws, plan: buildPlan, tags, contentKey, onProgress: obs.progress });
    if (!image) throw failure('NO_BUILDER', 'no builder plugin took the build', { hints: ['The docker plugin builds images: is it in the config plugins?'] });
    if (hit?.cachedFrom) image.cachedFrom = hit.cachedFrom;
    // The checkout has served its purpose (the context is sent): it goes while the contracts run.
    if (disposeCheckout) {
      disposing = disposeCheckout().catch(() => undefined);
      disposeCheckout = undefined;
    }
    end(hit?.cachedFrom ? `reused ${hit.cachedFrom}` : image.id.slice(0, 19));

    begin('test');
    const kind = manifests[0]?.Kind ?? 'http-service';
    const clusters = state.defs.Clusters ?? {};
    const report: ContractReport = { image, kind, manifest: manifests[0], clusters, results: [] };
    const targetNames = [...new Set(manifests.flatMap((m) => Object.keys(m.Deployments ?? {})))].sort();
    const targets = targetNames.map((c) => ({ cluster: c, registry: clusters[c]?.Registry || undefined }));
    const artifact: Artifact = { source: ctx, image, reference: '', digest: '', contracts: report.results, precache: {}, manifest: manifests[0], targets, timings: timings as Record<string, number> };
    /** Runs the publish hook for some of the image's tags; the artifact takes the digest once the caller adopts it. */
    const publishTags = async (tagsNow: string[]): Promise<Artifact> => {
      const a: Artifact = { ...artifact, image: { ...image, tags: tagsNow } };
      await sous.hooks.publish.promise(a);
      if (!a.digest) throw notPublished();
      return a;
    };
    const adopt = (a: Artifact) => {
      artifact.digest = a.digest;
      artifact.reference = a.reference;
      image.digest = a.digest;
    };
    // The image goes up under its build-unique revision tag while the contracts run; the version tag, the name
    // people and deploys use, is only written once they pass (and nothing unsigned is deployable anyway).
    const versionRef = tags[0];
    const stagedTags = image.tags.filter((t) => t !== versionRef);
    if (stagedTags.length) obs.progress?.({ phase: 'test', message: `pushing ${stagedTags.join(', ')} while the contracts run` });
    const staging = stagedTags.length ? early(publishTags(stagedTags)) : undefined;
    await sous.hooks.testImage.promise(report);
    const failed = report.results.filter((r) => r.status === 'failed');
    if (failed.length) {
      await emitEvent(sous, {
        type: 'contract.failed',
        manifestID,
        version: versionTag,
        source: eventSource(ctx),
        user: who,
        image: image.id,
        contracts: report.results.map((r) => ({ name: r.name, status: r.status, ...(r.message ? { message: r.message } : {}), ...(r.expected ? { expected: r.expected } : {}), ...(r.actual ? { actual: r.actual } : {}), durationMs: r.durationMs })),
      });
      throw new SousError('CONTRACT_FAILED', `${failed.length} contract(s) failed: ${failed.map((f) => `${f.name}: expected ${f.expected ?? '?'}, got ${f.actual ?? f.message ?? '?'}`).join('; ')}`, {
        hints: [`Nothing was tagged ${versionTag}, signed or recorded (the layers went up under the build's own tag ${stagedTags[0]?.slice(stagedTags[0].lastIndexOf(':') + 1) ?? '-'} while the contracts ran; unsigned, nothing deploys it). Run the image yourself to see: the container logs are in details.`],
        details: { contracts: report.results },
      });
    }
    end(report.results.length ? `${report.results.length} contract(s): ${report.results.map((r) => `${r.name} ${r.status}`).join(', ')}` : 'no contracts');

    begin('publish');
    if (staging) adopt(await staging);
    // The version tag: the same manifest, now that the contracts passed (a plugin tags it in the registry).
    const promoted = await publishTags(image.tags.filter((t) => !stagedTags.includes(t)));
    if (artifact.digest && promoted.digest !== artifact.digest) {
      throw failure('DIGEST_MISMATCH', `${versionRef} was published as ${promoted.digest}, but the build's own tag as ${artifact.digest}`, {
        hints: ['Something else pushes to the same name: build again, and check who else writes there'],
        details: { reference: versionRef, pushed: promoted.digest, staged: artifact.digest },
      });
    }
    adopt(promoted);
    end(artifact.reference);

    begin('sign');
    await sous.hooks.sign.promise(artifact);
    if (artifact.signature) end(`${artifact.signature.tag} (key ${artifact.signature.keyId})`);
    else {
      timings.sign = Date.now() - t0;
      skip('sign', 'no signing key configured');
    }

    begin('precache');
    await sous.hooks.precache.promise(artifact);
    const pc = Object.entries(artifact.precache);
    if (pc.length) end(pc.map(([c, r]) => `${c}: ${r.status}`).join(', '));
    else {
      timings.precache = Date.now() - t0;
      skip('precache', 'no cluster registries to pre-cache into');
    }

    begin('record');
    const record: ArtifactRecord = {
      Source: formatSourceLocation(sl),
      Version: versionTag,
      Revision: ctx.revision,
      Image: image.name,
      Digest: artifact.digest,
      Tags: image.tags.map((t) => t.slice(t.lastIndexOf(':') + 1)),
      Labels: image.labels,
      Advisories: ctx.advisories,
      BuiltAt: new Date().toISOString(),
      ContentKey: contentKey,
      Stack: stack,
      Contracts: report.results.map((r) => ({ Name: r.name, Status: r.status, ...(r.message ? { Message: r.message } : {}), DurationMs: r.durationMs })),
      ...(artifact.signature ? { Signature: { Tag: artifact.signature.tag, Digest: artifact.signature.digest, KeyID: artifact.signature.keyId } } : {}),
      ...(pc.length ? { Precache: Object.fromEntries(pc.map(([c, r]) => [c, { Registry: r.registry, Status: r.status, ...(r.message ? { Message: r.message } : {}), ...(r.bytesSent !== undefined ? { BytesSent: r.bytesSent } : {}) }])) } : {}),
      Deployable: true,
    };
    await opts.backend.update(() => ({ change: { message: `Record artifact ${record.Source} ${record.Version} (${record.Digest.slice(0, 19)})`, artifacts: [record] }, result: undefined }), opts.user);
    end();
    await sous.hooks.artifactReady.promise(artifact);
    await emitEvent(sous, {
      type: 'artifact.ready',
      manifestID,
      version: versionTag,
      source: eventSource(ctx),
      user: who,
      image: artifact.reference,
      digest: record.Digest,
      tags: record.Tags,
      ...(artifact.signature ? { signature: { keyId: artifact.signature.keyId, tag: artifact.signature.tag, digest: artifact.signature.digest } } : {}),
      precache: Object.fromEntries(pc.map(([c, r]) => [c, { registry: r.registry, status: r.status, ...(r.message ? { message: r.message } : {}), ...(r.bytesSent !== undefined ? { bytesSent: r.bytesSent } : {}) }])),
      contracts: (record.Contracts ?? []).map((c) => ({ name: c.Name, status: c.Status })),
      advisories: ctx.advisories,
      durationMs: Object.values(timings).reduce((a, b) => a + (b ?? 0), 0),
    });
    return {
      status: 'built',
      source: record.Source,
      version: versionTag,
      revision: ctx.revision,
      image: image.name,
      reference: artifact.reference,
      digest: artifact.digest,
      tags: image.tags,
      stack,
      advisories: ctx.advisories,
      contentKey,
      cachedFrom: image.cachedFrom,
      contracts: record.Contracts,
      signature: record.Signature,
      precache: record.Precache,
      timings,
    };
  } catch (e) {
    obs.phase?.(phase, 'fail', isSousError(e) ? e.message : String(e));
    const se = toSousError(e, 'BUILD_FAILED');
    if (ctx) {
      const failedPhase = se.code === 'NO_STACK' || se.code === 'UNKNOWN_STACK' ? 'detect' : phase;
      await emitEvent(sous, {
        type: 'build.failed',
        manifestID: formatSourceLocation({ repo: ctx.repo, dir: ctx.offset }),
        version: ctx.version ?? opts.tag ?? '0.0.0',
        source: eventSource(ctx),
        user: ctx.author ?? opts.user,
        phase: failedPhase,
        error: { code: se.code, message: se.message, ...(se.hints.length ? { hints: se.hints } : {}) },
        advisories: ctx.advisories,
      }).catch((err) => sous.logger.warn(`build.failed not announced: ${(err as Error).message}`));
    }
    throw se;
  } finally {
    if (disposeCheckout) await disposeCheckout().catch(() => undefined);
    await disposing;
    await Promise.all(ahead);
  }
}

/** The plan for an image whose layers were already built from identical inputs: only the labels change. */
function relabelPlan(plan: BuildPlan, from: string): BuildPlan {
  return { ...plan, dockerfile: `FROM ${from}\n`, buildArgs: {}, extraFiles: {}, target: undefined, ignore: ['*'] };
}

