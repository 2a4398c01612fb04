import type { Readable } from 'node:stream';
import type Dockerode from 'dockerode';
import { canonicalRegistry, engineAuthConfig, failure, isSousError, parseImageReference, registryClient, registryOfReference, resolveRegistryAuth, type BuildRequest, type BuiltImage, type RegistryAuth, type RegistryConfig, type SousError } from '@sous/core';
import { externalImages } from './dockerfile';
import { pullPrivate } from './inputs';
import { makeContext } from './context';
import { engineError } from './engine';
import { BuildTracker, type FailedStep } from './progress';
import { readMessages } from './stream';
import type { Session } from './session';

/** `registry/name` of a tagged reference (`registry/name:tag` or `registry/name@digest`). */
export function repositoryOf(ref: string): string {
  const at = ref.indexOf('@');
  const noDigest = at >= 0 ? ref.slice(0, at) : ref;
  const colon = noDigest.lastIndexOf(':');
  return colon > noDigest.lastIndexOf('/') ? noDigest.slice(0, colon) : noDigest;
}

function dial<T>(docker: Dockerode, opts: { path: string } & Record<string, unknown>): Promise<T> {
  return new Promise((resolve, reject) => {
    docker.modem.dial(opts, (err, data) => (err ? reject(err) : resolve(data as T)));
  });
}

function stepError(step: FailedStep, dockerfile: string): SousError {
  const exit = /exit code: (\d+)/.exec(step.error);
  const why = exit ? `exit code ${exit[1]}` : step.error;
  const meta = /^\[internal\] load metadata for (.+)$/.exec(step.name);
  if (meta) {
    return failure('BASE_IMAGE_UNAVAILABLE', `the engine cannot find the base image ${meta[1]}: ${step.error}`, {
      hints: [`Make ${meta[1]} available to the engine (build, load or pull it, or push it to a registry the engine reaches), or change the FROM line in ${dockerfile}`],
      details: { step: step.name, error: step.error, logs: step.lines },
    });
  }
  const output = step.lines.length ? `\n${step.lines.map((l) => `  | ${l}`).join('\n')}` : ' (no output)';
  return failure('BUILD_STEP_FAILED', `the build step ${step.name} failed with ${why}; its last output:${output}`, {
    hints: [`Fix the step in ${dockerfile} and build again; every step's output streams as progress while the build runs`],
    details: { step: step.name, error: step.error, logs: step.lines },
  });
}

function buildError(message: string, dockerfile: string): SousError {
  if (/dockerfile parse error|unknown instruction|failed to parse|syntax error/i.test(message)) {
    return failure('DOCKERFILE_INVALID', `${dockerfile} cannot be read by the builder: ${message}`, {
      hints: [`Fix ${dockerfile}; the Dockerfile reference is at https://docs.docker.com/reference/dockerfile/`],
      details: { error: message },
    });
  }
  return failure('BUILD_FAILED', `the image build failed: ${message}`, { hints: ['Run the build with -v to see every step as it runs'], details: { error: message } });
}

/** Removes the request's tags that point at `imageId`, so a failed build leaves no half-tagged result. */
async function untag(docker: Dockerode, tags: readonly string[], imageId: string): Promise<void> {
  for (const t of tags) {
    try {
      const info = await docker.getImage(t).inspect();
      if (info.Id === imageId) await docker.getImage(t).remove({ noprune: true });
    } catch {
      // Not there (or already gone): nothing to undo.
    }
  }
}

/**
 * The credentials of the registries a plan's base images come from (FROM and
 * COPY --from), for the registries that have any.
 */
export async function baseImageAuths(plan: { dockerfile: string; buildArgs: Readonly<Record<string, string>> }, config?: RegistryConfig): Promise<Map<string, RegistryAuth>> {
  const hosts = new Set(externalImages(plan.dockerfile, plan.buildArgs).map(registryOfReference));
  const out = new Map<string, RegistryAuth>();
  for (const h of hosts) {
    const a = await resolveRegistryAuth(h, config);
    if (a.credential) out.set(a.host, a);
  }
  return out;
}

/** X-Registry-Config: every credential a build may need, keyed by registry (the Engine API documents it for the classic builder). */
function registryConfigHeader(auths: Map<string, RegistryAuth>): Record<string, ReturnType<typeof engineAuthConfig>> {
  return Object.fromEntries([...auths.values()].map((a) => [engineAuthConfig(a).serveraddress, engineAuthConfig(a)]));
}

/**
 * Builds a plan with the engine's BuildKit builder: streams the context,
 * tags the image with every requested tag, and reports progress as it goes.
 */
export async function buildWithEngine(docker: Dockerode, req: BuildRequest): Promise<BuiltImage> {
  const { plan, tags } = req;
  if (!tags.length) throw failure('NO_IMAGE_TAGS', 'the build request names no tags for the image', { hints: ['Core names the tags (registry/name:version and :z<revision>-<time>); a plugin calling buildImage must pass some'] });
  const commitTime = req.workspace.context?.commitTime;
  const context = await makeContext(plan, { mtime: commitTime ? new Date(commitTime) : undefined });
  const dockerfileLabel = context.dockerfile === 'Dockerfile' ? `${plan.contextDir}/Dockerfile` : `the ${plan.stack} stack's Dockerfile`;
  req.onProgress?.({ phase: 'build', message: `context: ${context.entries.length} entries from ${plan.contextDir}` });

  let contextError: unknown;
  context.stream.on('error', (e) => (contextError ??= e));
  const tracker = new BuildTracker(req.onProgress);
  let session: Session | undefined;
  try {
    const auths = await baseImageAuths(plan, req.workspace.config);
    // Private images the engine lacks (a re-label plan's FROM, a base the plan did not see) are pulled by the engine first:
    // its pull honours certs.d, which not every engine's BuildKit resolver does.
    for (const ref of auths.size ? externalImages(plan.dockerfile, plan.buildArgs) : []) {
      if (!auths.has(canonicalRegistry(registryOfReference(ref)))) continue;
      const have = await docker.getImage(ref).inspect().then(() => true, () => false);
      if (!have) await pullPrivate(docker, ref, req.workspace.config);
    }
    if (Object.keys(plan.secrets).length || auths.size) {
      // Only builds with secrets or private base images need a session, and only they load gRPC.
      const { openSession } = await import('./session');
      session = await openSession(docker, {
        secrets: plan.secrets,
        credentials: auths.size
          ? async (host) => {
              const a = auths.get(canonicalRegistry(host));
              if (!a?.credential) return undefined;
              return a.credential.identityToken ? { username: '', secret: a.credential.identityToken } : { username: a.credential.username, secret: a.credential.password ?? '' };
            }
          : undefined,
      });
    }
    const query: Record<string, unknown> = {
      t: tags,
      version: '2',
      dockerfile: context.dockerfile,
      buildargs: plan.buildArgs,
      labels: plan.labels,
      ...(plan.target ? { target: plan.target } : {}),
      ...(req.workspace.config.build?.platform ? { platform: req.workspace.config.build.platform } : {}),
      ...(session ? { session: session.id } : {}),
    };
    const stream = await dial<Readable>(docker, {
      path: '/build?',
      method: 'POST',
      file: context.stream,
      options: query,
      ...(auths.size ? { registryconfig: registryConfigHeader(auths) } : {}),
      isStream: true,
      statusCodes: { 200: true, 400: 'bad parameter', 500: 'server error' },
    });
    await readMessages(stream, (m) => tracker.message(m));
  } catch (e) {
    context.stream.destroy();
    if (tracker.imageId) await untag(docker, tags, tracker.imageId);
    if (contextError) throw contextFailure(contextError, plan.contextDir);
    if (isSousError(e)) throw e;
    const mapped = engineError(docker, e);
    if (isSousError(mapped)) throw mapped;
    const json = (e as { json?: { message?: string } }).json;
    throw buildError(json?.message ?? (e instanceof Error ? e.message : String(e)), dockerfileLabel);
  } finally {
    session?.close();
  }
  if (contextError) throw contextFailure(contextError, plan.contextDir);
  if (tracker.error || !tracker.imageId) {
    if (tracker.imageId) await untag(docker, tags, tracker.imageId);
    const step = tracker.failedStep();
    if (step) {
      const e = stepError(step, dockerfileLabel);
      if (e.code === 'BASE_IMAGE_UNAVAILABLE') await whyBaseUnavailable(step.name, req.workspace.config);
      throw e;
    }
    throw buildError(tracker.error ?? 'the engine reported no image', dockerfileLabel);
  }
  return { id: tracker.imageId, name: repositoryOf(tags[0]), tags: [...tags], labels: { ...plan.labels }, contentKey: req.contentKey };
}

/**
 * A base image the builder could not load: when its registry is one Sous can
 * ask, ask it, so that a credential refused, a name denied or a certificate
 * not trusted is reported as that (with where the credential came from).
 */
async function whyBaseUnavailable(stepName: string, config: RegistryConfig): Promise<void> {
  const ref = /^\[internal\] load metadata for (.+)$/.exec(stepName)?.[1];
  if (!ref) return;
  let parsed: ReturnType<typeof parseImageReference>;
  try {
    parsed = parseImageReference(ref);
  } catch {
    return;
  }
  try {
    await registryClient(parsed.registry, config, { timeoutMs: 10_000 }).headManifest(parsed.repository, parsed.digest ?? parsed.tag ?? 'latest');
  } catch (e) {
    if (isSousError(e) && /^(REGISTRY_(UNAUTHORIZED|DENIED|TLS_|PROXY_|TOKEN_)|CREDENTIAL_HELPER_FAILED)/.test(e.code)) throw e;
  }
}

function contextFailure(e: unknown, dir: string): SousError {
  return failure('BUILD_CONTEXT_UNREADABLE', `cannot read the build context in ${dir}: ${e instanceof Error ? e.message : String(e)}`, {
    hints: ['Check the files under the application directory are readable, or leave them out with .dockerignore'],
    cause: e,
  });
}
