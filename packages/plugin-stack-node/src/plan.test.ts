import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { SousError } from '@sous/core';
import { nodePlan } from './plan';
import type { NodeStackOptions } from './options';

let dir: string;

function app(files: Record<string, string | object>): string {
  for (const [p, c] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
    fs.writeFileSync(path.join(dir, p), typeof c === 'string' ? c : JSON.stringify(c));
  }
  return dir;
}

const plan = (opts: NodeStackOptions = {}, ca?: { pem: string; files: string[] }) => nodePlan(dir, opts, ca);
/** The run stage: everything after the last FROM. */
const runStage = (dockerfile: string) => dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));

function thrown(fn: () => unknown): SousError {
  try {
    fn();
  } catch (e) {
    return e as SousError;
  }
  throw new Error('expected an error');
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sous-node-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('package manager by lockfile', () => {
  it('npm with package-lock.json and no build script: production install only, no prune stage', () => {
    app({ 'package.json': { scripts: { start: 'node server.js' } }, 'package-lock.json': {} });
    const { dockerfile } = plan();
    expect(dockerfile).toContain('COPY package.json package-lock.json ./');
    expect(dockerfile).toContain('RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --no-audit --no-fund && mkdir -p node_modules');
    expect(dockerfile).not.toContain('prod-deps');
    expect(dockerfile).toContain('COPY --from=deps /app/node_modules /app/node_modules');
    expect(dockerfile).not.toContain('npm run build');
  });

  it('npm with a build script: full install, build, dev dependencies pruned in their own stage', () => {
    app({ 'package.json': { scripts: { build: 'tsc', start: 'node dist/index.js' } }, 'package-lock.json': {} });
    const { dockerfile } = plan();
    expect(dockerfile).toContain('npm ci --no-audit --no-fund && mkdir -p node_modules');
    expect(dockerfile).toContain('FROM deps AS prod-deps\nRUN --mount=type=cache,target=/root/.npm npm prune --omit=dev');
    expect(dockerfile).toContain('RUN npm run build && rm -rf .sous .sous.* node_modules');
    expect(runStage(dockerfile)).toContain('COPY --from=prod-deps /app/node_modules /app/node_modules');
    expect(dockerfile).toMatch(/COPY package\.json package-lock\.json \.\/\nRUN [^\n]*npm ci[\s\S]*COPY \. \./);
  });

  it('npm without a lockfile installs with npm install', () => {
    app({ 'package.json': { main: 'index.js' } });
    const { dockerfile } = plan();
    expect(dockerfile).toContain('COPY package.json ./');
    expect(dockerfile).toContain('npm install --omit=dev');
  });

  it('yarn 1 with yarn.lock', () => {
    app({ 'package.json': { main: 'index.js', scripts: { build: 'webpack' } }, 'yarn.lock': '', '.yarnrc': '' });
    const { dockerfile } = plan();
    expect(dockerfile).toContain('COPY package.json yarn.lock .yarnrc ./');
    expect(dockerfile).toContain('--mount=type=cache,target=/usr/local/share/.cache/yarn yarn install --frozen-lockfile --non-interactive &&');
    expect(dockerfile).toContain('yarn install --frozen-lockfile --non-interactive --production --ignore-scripts --prefer-offline');
    expect(dockerfile).toContain('RUN yarn run build &&');
  });

  it('yarn 2+ (a .yarnrc.yml) through corepack, its releases directory copied to its place', () => {
    app({ 'package.json': { main: 'index.js' }, 'yarn.lock': '', '.yarnrc.yml': 'nodeLinker: node-modules\n', '.yarn/releases/yarn-4.1.0.cjs': '' });
    const { dockerfile } = plan();
    expect(dockerfile).toContain('COPY package.json yarn.lock .yarnrc.yml ./\nCOPY .yarn/releases ./.yarn/releases');
    expect(dockerfile).toContain('corepack enable && yarn workspaces focus --all --production');
  });

  it('pnpm with pnpm-lock.yaml', () => {
    app({ 'package.json': { main: 'index.js' }, 'pnpm-lock.yaml': '' });
    const { dockerfile } = plan();
    expect(dockerfile).toContain('COPY package.json pnpm-lock.yaml ./');
    expect(dockerfile).toContain('--mount=type=cache,target=/root/.local/share/pnpm/store corepack enable && pnpm install --frozen-lockfile --prod');
  });

  it('refuses lockfiles of two package managers, unless packageManager names one', () => {
    app({ 'package.json': { main: 'index.js' }, 'package-lock.json': {}, 'yarn.lock': '' });
    const e = thrown(() => plan());
    expect(e.code).toBe('NODE_LOCKFILES_CONFLICT');
    expect(e.message).toContain('package-lock.json, yarn.lock');
    app({ 'package.json': { main: 'index.js', packageManager: 'yarn@1.22.22' } });
    expect(plan().dockerfile).toContain('COPY package.json yarn.lock ./');
  });

  it('an install command of its own: used as given, dev dependencies pruned after it', () => {
    app({ 'package.json': { main: 'index.js' }, 'package-lock.json': {} });
    const { dockerfile } = plan({ install: 'npm ci --ignore-scripts' });
    expect(dockerfile).toContain('npm ci --ignore-scripts && mkdir -p node_modules');
    expect(dockerfile).toContain('npm prune --omit=dev');
  });
});

describe('the command', () => {
  it('runs a plain "node ..." start script directly', () => {
    app({ 'package.json': { scripts: { start: 'node --enable-source-maps dist/main.js' } } });
    const p = plan();
    expect(p.command).toEqual(['node', '--enable-source-maps', 'dist/main.js']);
    expect(p.dockerfile).toContain('CMD ["node","--enable-source-maps","dist/main.js"]');
  });

  it('runs a start script with shell syntax through npm start, with a writable npm cache', () => {
    app({ 'package.json': { scripts: { start: 'node migrate.js && node server.js' } } });
    const p = plan();
    expect(p.command).toEqual(['npm', 'start']);
    expect(runStage(p.dockerfile)).toContain('ENV NPM_CONFIG_CACHE="/tmp/.npm"');
  });

  it('uses main without a start script, then server.js as npm does', () => {
    app({ 'package.json': { main: 'lib/app.js' } });
    expect(plan().command).toEqual(['node', 'lib/app.js']);
    app({ 'package.json': {}, 'server.js': '' });
    expect(plan().command).toEqual(['node', 'server.js']);
  });

  it('fails with no start script, no main and no server.js, unless a command is set', () => {
    app({ 'package.json': { name: 'x' } });
    const e = thrown(() => plan());
    expect(e.code).toBe('NODE_NO_START');
    expect(e.message).toContain('no "start" script and no "main"');
    expect(plan({ command: ['node', 'worker.js'] }).dockerfile).toContain('CMD ["node","worker.js"]');
  });
});

describe('node version and images', () => {
  it.each([
    ['>=18', '18'],
    ['^20.11.0', '20'],
    ['20.x', '20'],
    ['^18 || ^20', '18'],
    ['>=20.19.0 <23', '20'],
    ['*', '22'],
    [undefined, '22'],
  ])('engines.node %p → node:%s', (range, major) => {
    app({ 'package.json': { main: 'a.js', ...(range ? { engines: { node: range } } : {}) } });
    const p = plan();
    expect(p.dockerfile).toContain(`FROM node:${major}-bookworm-slim AS deps`);
    expect(p.inputs).toEqual({ 'image:builder': `node:${major}-bookworm-slim`, 'image:run': `node:${major}-bookworm-slim` });
  });

  it('refuses an engines.node that is not a range', () => {
    app({ 'package.json': { main: 'a.js', engines: { node: 'latest please' } } });
    const e = thrown(() => plan());
    expect(e.code).toBe('NODE_ENGINES_INVALID');
    expect(e.field).toBe('engines.node');
  });

  it('takes builder and run images from the options, {version} filled in', () => {
    app({ 'package.json': { main: 'a.js', engines: { node: '>=20' } } });
    const p = plan({ builderImage: 'mirror.example/node:{version}', runImage: 'mirror.example/node-run:{version}' });
    expect(p.dockerfile).toMatch(/^FROM mirror\.example\/node:20 AS deps$/m);
    expect(runStage(p.dockerfile)).toMatch(/^FROM mirror\.example\/node-run:20$/m);
    expect(plan({ baseImage: 'local/node:20' }).inputs).toEqual({ 'image:builder': 'local/node:20', 'image:run': 'local/node:20' });
  });
});

describe('package.json problems', () => {
  it('invalid JSON', () => {
    app({ 'package.json': '{ "name": ' });
    const e = thrown(() => plan());
    expect(e.code).toBe('NODE_PACKAGE_JSON_INVALID');
    expect(e.file).toBe(path.join(dir, 'package.json'));
  });

  it('a field of the wrong type', () => {
    app({ 'package.json': { main: 3 } });
    expect(thrown(() => plan())).toMatchObject({ code: 'NODE_PACKAGE_JSON_INVALID', field: 'main' });
  });

  it('unreadable', () => {
    fs.mkdirSync(path.join(dir, 'package.json'));
    expect(thrown(() => plan()).code).toBe('NODE_PACKAGE_JSON_UNREADABLE');
  });
});

describe('the run stage', () => {
  it('sets the version, runs as a numeric non-root user, and never holds the CA', () => {
    app({ 'package.json': { main: 'a.js', dependencies: { express: '^4.0.0' } }, 'package-lock.json': {} });
    const p = plan({ env: { LOG_LEVEL: 'info' }, extraFiles: { 'config/app.json': '{}' } }, { pem: 'PEM-BYTES', files: ['/etc/ca.pem'] });
    const run = runStage(p.dockerfile);
    expect(run).toContain('ARG APP_VERSION\nARG APP_REVISION\nENV APP_VERSION=$APP_VERSION APP_REVISION=$APP_REVISION');
    expect(run).toContain('USER 10001');
    expect(run).toContain('ENV LOG_LEVEL="info"');
    expect(run).toContain('COPY .sous/files/ /app/');
    expect(run).not.toMatch(/ca\.pem|NODE_EXTRA_CA_CERTS/);
    expect(p.extraFiles).toEqual({ '.sous/ca.pem': 'PEM-BYTES', '.sous/files/config/app.json': '{}' });
    // The CA is shown to the install steps only, never copied into a layer.
    expect(p.dockerfile).toContain('--mount=type=bind,source=.sous/ca.pem,target=/run/sous/ca.pem export NODE_EXTRA_CA_CERTS=/run/sous/ca.pem && npm ci');
    expect(p.dockerfile).toContain('rm -rf .sous');
  });

  it('without a build step copies the sources by name (leaving out Sous\'s own files), else from the build stage', () => {
    app({ 'package.json': { main: 'a.js' }, 'a.js': '', 'lib/b.js': '', '.sous.Dockerfile': '', node_modules: '' });
    expect(runStage(plan().dockerfile)).toContain('COPY ["a.js","package.json","./"]\nCOPY ["lib","./lib/"]\nUSER');
    expect(runStage(plan().dockerfile)).not.toContain('--from=build');
    app({ '.dockerignore': 'secret.txt\n' });
    expect(runStage(plan().dockerfile)).toContain('COPY --from=build /app /app');
  });

  it('an install with nothing to fetch is not shown the CA; one with any kind of dependency, a custom install or corepack is', () => {
    const ca = { pem: 'PEM', files: ['/etc/ca.pem'] };
    app({ 'package.json': { main: 'a.js' }, 'package-lock.json': {} });
    expect(plan({}, ca).dockerfile).not.toContain('ca.pem');
    expect(plan({}, ca).extraFiles).toEqual({});
    expect(plan({ install: 'npm install --global x' }, ca).dockerfile).toContain('NODE_EXTRA_CA_CERTS');
    for (const kind of ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies']) {
      app({ 'package.json': { main: 'a.js', [kind]: { left: '1.0.0' } } });
      expect(plan({}, ca).dockerfile).toContain('--mount=type=bind,source=.sous/ca.pem');
    }
    fs.rmSync(path.join(dir, 'package-lock.json'));
    app({ 'package.json': { main: 'a.js' }, 'pnpm-lock.yaml': 'lockfileVersion: 6.0\n' });
    expect(plan({}, ca).dockerfile).toContain('NODE_EXTRA_CA_CERTS');
  });

  it('without CA certificates there is no mount and no CA file', () => {
    app({ 'package.json': { main: 'a.js' } });
    const p = plan();
    expect(p.dockerfile).not.toContain('ca.pem');
    expect(p.extraFiles).toEqual({});
  });

  it('declares the build args in the builder and passes them', () => {
    app({ 'package.json': { main: 'a.js' } });
    const p = nodePlan(dir, { buildArgs: { NPM_TAG: 'next' } }, undefined, { GLOBAL: '1' });
    expect(p.buildArgs).toEqual({ GLOBAL: '1', NPM_TAG: 'next' });
    expect(p.dockerfile).toMatch(/WORKDIR \/app\nARG GLOBAL\nARG NPM_TAG\n/);
  });
});
