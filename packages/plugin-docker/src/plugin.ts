import * as fs from 'node:fs';
import * as path from 'node:path';
import type Dockerode from 'dockerode';
import { declaredArgs, registryClient, STAGE, usageError, type BuildPlan, type Sous, type SousPlugin, type Workspace } from '@sous/core';
import { buildWithEngine, repositoryOf } from './build';
import { splitRepository } from './registry';
import { connectEngine } from './engine';
import { baseImageInputs } from './inputs';
import { publishImage } from './publish';

/** Options of the docker plugin. */
export interface DockerPluginOptions {
  /** The engine address (unix://, tcp://, http(s)://); default: the config's dockerHost, DOCKER_HOST, the local socket. */
  host?: string;
}

/** The stack of an application that brings its own Dockerfile. */
export const DOCKERFILE_STACK = 'dockerfile';

function dockerfilePath(ws: Workspace): string {
  const configured = ws.config.build?.dockerfile;
  return configured ? path.resolve(ws.dir, configured) : path.join(ws.dir, 'Dockerfile');
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/**
 * Builds and publishes images through a Docker engine: the `dockerfile` stack
 * (an application's own Dockerfile, as the original Sous built it), base image
 * ids as build inputs, the BuildKit build of any stack's plan, and the push by
 * digest.
 */
export class DockerPlugin implements SousPlugin {
  static readonly PLUGIN_NAME = 'sous:docker';
  readonly name = DockerPlugin.PLUGIN_NAME;

  constructor(private readonly opts: DockerPluginOptions = {}) {}

  /** The engine this plugin talks to for a given Sous. */
  engine(sous: Sous): Dockerode {
    return connectEngine(this.opts.host ?? sous.config);
  }

  apply(sous: Sous): void {
    const engine = () => this.engine(sous);
    const log = sous.context(this.name).logger;

    sous.hooks.detectStack.tapPromise({ name: this.name, stage: STAGE.EARLY }, async (ws) => (isFile(dockerfilePath(ws)) ? DOCKERFILE_STACK : undefined));

    sous.hooks.buildPlan.for(DOCKERFILE_STACK).tapPromise(this.name, async (plan: BuildPlan, ws) => {
      const file = dockerfilePath(ws);
      let dockerfile: string;
      try {
        dockerfile = await fs.promises.readFile(file, 'utf8');
      } catch (e) {
        throw usageError('DOCKERFILE_NOT_FOUND', `the application's Dockerfile ${file} cannot be read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, {
          file,
          hints: ['Add a Dockerfile to the application directory, set build.dockerfile in sous.config.ts, or use a stack (node, go, java)'],
        });
      }
      // build.args from the config, for the args this Dockerfile declares (others would only change the content key).
      const declared = declaredArgs(dockerfile);
      const fromConfig = Object.entries(ws.config.build?.args ?? {}).filter(([k]) => declared.has(k));
      return { ...plan, dockerfile, contextDir: ws.dir, buildArgs: { ...Object.fromEntries(fromConfig), ...plan.buildArgs } };
    });

    sous.hooks.finalizePlan.tapPromise(this.name, async (plan) => ({ ...plan, inputs: { ...plan.inputs, ...(await baseImageInputs(engine(), plan, sous.config)) } }));

    sous.hooks.buildImage.tapPromise(this.name, (req) => {
      // While the engine builds (and the process mostly waits): the registry client's module, TLS context, connection and
      // auth challenge, so that none of it runs later beside the contracts, which time what the container does.
      if (req.tags[0]) {
        const { host, repository } = splitRepository(repositoryOf(req.tags[0]));
        void registryClient(host, sous.config).prepare(repository);
      }
      return buildWithEngine(engine(), req);
    });

    sous.hooks.publish.tapPromise(this.name, (artifact) => publishImage(engine(), artifact, (p) => log.debug(p.message), sous.config));
  }
}

/** The docker plugin, for sous.config.ts: `plugins: [docker({ host: 'tcp://builder:2375' })]`. */
export const docker = (opts?: DockerPluginOptions): DockerPlugin => new DockerPlugin(opts);
