import * as fs from 'node:fs';
import * as path from 'node:path';
import { CA_CONTEXT_FILE, CA_TARGET, bindMount, commonPlanParts, envLines, execForm, renderTemplate, tidyDockerfile, type CaBundle, type StackPlan } from '@sous/core';
import { declaresDependencies, detectPackageManager, nodeMajor, readPackageJson, startCommand, type PackageManagerName } from './package-json';
import { NODE_DEFAULTS, type NodeStackOptions } from './options';

/** What the node stack adds to a build plan. */
export type NodePlan = StackPlan;

interface Commands {
  /** Installs every dependency (the build needs the dev ones). */
  all: string;
  /** Installs only what the application needs at run time. */
  production: string;
  /** Removes the dev dependencies from an installed tree. */
  prune: string;
  run: (script: string) => string;
  cache: string;
}

const COMMANDS: Record<PackageManagerName, (hasLock: boolean) => Commands> = {
  npm: (hasLock) => ({
    all: `npm ${hasLock ? 'ci' : 'install'} --no-audit --no-fund`,
    production: `npm ${hasLock ? 'ci' : 'install'} --omit=dev --no-audit --no-fund`,
    prune: 'npm prune --omit=dev --no-audit --no-fund',
    run: (s) => `npm run ${s}`,
    cache: '/root/.npm',
  }),
  yarn: () => ({
    all: 'yarn install --frozen-lockfile --non-interactive',
    production: 'yarn install --frozen-lockfile --non-interactive --production',
    prune: 'yarn install --frozen-lockfile --non-interactive --production --ignore-scripts --prefer-offline',
    run: (s) => `yarn run ${s}`,
    cache: '/usr/local/share/.cache/yarn',
  }),
  'yarn-berry': () => ({
    all: 'corepack enable && yarn install --immutable',
    production: 'corepack enable && yarn workspaces focus --all --production',
    prune: 'yarn workspaces focus --all --production',
    run: (s) => `yarn run ${s}`,
    cache: '/root/.yarn/berry/cache',
  }),
  pnpm: () => ({
    all: 'corepack enable && pnpm install --frozen-lockfile',
    production: 'corepack enable && pnpm install --frozen-lockfile --prod',
    prune: 'pnpm prune --prod',
    run: (s) => `pnpm run ${s}`,
    cache: '/root/.local/share/pnpm/store',
  }),
};


/** Entries of the context that are Sous's own or never part of the application. */
const NOT_SOURCES = (name: string) => name === '.git' || name === 'node_modules' || name === '.sous' || name.startsWith('.sous.');

/** Names of entries in `dir`, split into files and directories (one stat each, links followed), in their given order. */
function byKind(dir: string, names: readonly string[]): { files: string[]; dirs: string[] } {
  const files: string[] = [];
  const dirs: string[] = [];
  for (const n of names) (fs.statSync(path.join(dir, n)).isDirectory() ? dirs : files).push(n);
  return { files, dirs };
}

/**
 * How the sources reach the run stage. Without a build step they are copied
 * straight from the context by name (no RUN, so a source change costs one
 * COPY); with a build step, or a .dockerignore that only the builder can
 * apply, they come from the build stage, which leaves Sous's own files out.
 */
function copySources(dir: string, fromBuild: boolean): string {
  if (fromBuild) return 'COPY --from=build /app /app';
  const { files, dirs } = byKind(dir, fs.readdirSync(dir).filter((n) => !NOT_SOURCES(n)).sort());
  const lines = files.length ? [`COPY ${JSON.stringify([...files, './'])}`] : [];
  for (const d of dirs) lines.push(`COPY ${JSON.stringify([d, `./${d}/`])}`);
  return lines.join('\n');
}

/** COPY lines for the install's inputs: files together, each directory to its own place (COPY copies a directory's contents). */
function copyLines(dir: string, manifests: string[]): string {
  const { files, dirs } = byKind(dir, manifests);
  return [`COPY ${files.join(' ')} ./`, ...dirs.map((d) => `COPY ${d} ./${d}`)].join('\n');
}

/**
 * The node stack's plan for the application in `dir`: package.json read and
 * checked, the package manager by lockfile, the node major from engines.node,
 * the Dockerfile rendered from templates/node.Dockerfile.tmpl.
 */
export function nodePlan(dir: string, opts: NodeStackOptions, givenCa?: CaBundle, globalArgs: Record<string, string> = {}): NodePlan {
  const pkg = readPackageJson(dir);
  const version = nodeMajor(pkg, opts.version ?? NODE_DEFAULTS.version);
  const pm = detectPackageManager(dir, pkg);
  // An npm or yarn install with no package to install fetches nothing, so it needs no CA (and the build is spared
  // a mount of the context, about 0.1 s on a cold cache); corepack (yarn berry, pnpm) fetches the manager itself.
  const fetches = !!opts.install || pm.name === 'pnpm' || pm.name === 'yarn-berry' || declaresDependencies(pkg);
  const ca = fetches ? givenCa : undefined;
  const cmds = COMMANDS[pm.name](!!pm.lockfile);
  const command = opts.command ?? startCommand(dir, pkg);
  const hasBuild = !!pkg.scripts?.build;

  // The CA is mounted into the steps that fetch packages only, and node picks it up through NODE_EXTRA_CA_CERTS.
  const mounts = [`--mount=type=cache,target=${cmds.cache}`, ...(ca ? [bindMount(CA_CONTEXT_FILE, CA_TARGET)] : [])].join(' ');
  // mkdir: an application without dependencies still gets a node_modules for the run stage to copy.
  const withCa = (cmd: string) => `${ca ? `export NODE_EXTRA_CA_CERTS=${CA_TARGET} && ` : ''}${cmd} && mkdir -p node_modules`;
  // Without a build step the dev dependencies are never installed; with one they are pruned after a full install.
  const needsPrune = hasBuild || !!opts.install;
  const install = opts.install ?? (hasBuild ? cmds.all : cmds.production);
  const runEnv: Record<string, string> = command[0] === 'npm' ? { NPM_CONFIG_CACHE: '/tmp/.npm', NPM_CONFIG_UPDATE_NOTIFIER: 'false' } : {};

  const common = commonPlanParts('node', opts, NODE_DEFAULTS, version, globalArgs);
  const dockerfile = tidyDockerfile(
    renderTemplate('node.Dockerfile.tmpl', {
      ...common.values,
      packageManager: pm.name,
      nodeVersion: version,
      copyManifests: copyLines(dir, pm.manifests),
      installMounts: mounts,
      install: withCa(install),
      prodDepsStage: needsPrune ? `FROM deps AS prod-deps\nRUN ${mounts} ${withCa(cmds.prune)}` : '',
      prodDepsFrom: needsPrune ? 'prod-deps' : 'deps',
      buildStep: hasBuild ? `${cmds.run('build')} && ` : '',
      copySources: copySources(dir, hasBuild || fs.existsSync(path.join(dir, '.dockerignore'))),
      env: envLines({ ...runEnv, ...(opts.env ?? {}) }),
      command: execForm(command),
    }),
  );
  return {
    dockerfile,
    extraFiles: { ...common.files, ...(ca ? { [CA_CONTEXT_FILE]: ca.pem } : {}) },
    buildArgs: common.buildArgs,
    inputs: common.inputs,
    command,
    ignore: ['node_modules'],
  };
}
