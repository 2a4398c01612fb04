import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Sous, type ResolvedConfig, type SousError, type Workspace } from '@sous/core';
import { goPlan } from './plan';
import { goStack } from './index';

let dir: string;
const MAIN = 'package main\n\nfunc main() {}\n';

function app(files: Record<string, string>): void {
  for (const [p, c] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
    fs.writeFileSync(path.join(dir, p), c);
  }
}

function thrown(fn: () => unknown): SousError {
  try {
    fn();
  } catch (e) {
    return e as SousError;
  }
  throw new Error('expected an error');
}

const runStage = (d: string) => d.slice(d.lastIndexOf('\nFROM '));

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sous-go-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('goPlan', () => {
  it.each([
    ['go 1.19', 'golang:1.19-bookworm'],
    ['go 1.22.3', 'golang:1.22.3-bookworm'],
    ['go 1.21\n\ntoolchain go1.22.5', 'golang:1.22.5-bookworm'],
  ])('%p builds in %s', (line, image) => {
    app({ 'go.mod': `module example.com/app\n\n${line}\n`, 'main.go': MAIN });
    const p = goPlan(dir, {});
    expect(p.dockerfile).toContain(`FROM ${image} AS build`);
    expect(p.inputs).toEqual({ 'image:builder': image, 'image:run': 'gcr.io/distroless/static-debian12:nonroot' });
  });

  it('downloads modules from go.mod and go.sum before the sources, then builds a static, trimmed binary', () => {
    app({ 'go.mod': 'module m\n\ngo 1.22\n', 'go.sum': '', 'main.go': MAIN });
    const d = goPlan(dir, {}).dockerfile;
    expect(d).toMatch(/COPY go\.mod go\.sum \.\/\nRUN --mount=type=cache,target=\/go\/pkg\/mod --mount=type=cache,target=\/root\/\.cache\/go-build go mod download\nCOPY \. \./);
    expect(d).toContain('ENV CGO_ENABLED=0');
    expect(d).toContain('go build -trimpath -ldflags="-s -w" -o /out/app .');
    const run = runStage(d);
    expect(run).toContain('COPY --from=build /out/app /app/app');
    expect(run).toContain('USER 10001');
    expect(run).toContain('ENV APP_VERSION=$APP_VERSION');
    expect(run).toContain('CMD ["/app/app"]');
    expect(run).not.toMatch(/COPY \. |go build|ca\.pem/);
  });

  it('skips the download for a vendored module', () => {
    app({ 'go.mod': 'module m\n\ngo 1.22\n', 'vendor/modules.txt': '', 'main.go': MAIN });
    expect(goPlan(dir, {}).dockerfile).not.toContain('go mod download');
  });

  it('builds the one ./cmd/<name> main package, or the one named', () => {
    app({ 'go.mod': 'module m\n\ngo 1.22\n', 'cmd/server/main.go': MAIN, 'lib.go': 'package m\n' });
    expect(goPlan(dir, {}).dockerfile).toContain('-o /out/app ./cmd/server');
    app({ 'cmd/tool/main.go': MAIN });
    const e = thrown(() => goPlan(dir, {}));
    expect(e.code).toBe('GO_NO_MAIN_PACKAGE');
    expect(e.message).toContain('./cmd/server, ./cmd/tool');
    expect(goPlan(dir, { package: './cmd/tool' }).dockerfile).toContain('-o /out/app ./cmd/tool');
  });

  it('fails on a go.mod without a go line, naming the file', () => {
    app({ 'go.mod': 'module m\n', 'main.go': MAIN });
    const e = thrown(() => goPlan(dir, {}));
    expect(e.code).toBe('GO_MOD_NO_GO_VERSION');
    expect(e.file).toBe(path.join(dir, 'go.mod'));
    app({ 'go.mod': 'module m\n\ngo banana\n' });
    expect(thrown(() => goPlan(dir, {})).code).toBe('GO_MOD_INVALID');
  });

  it('hands the CA to the module download only (SSL_CERT_FILE on a bind mount)', () => {
    app({ 'go.mod': 'module m\n\ngo 1.19\n', 'main.go': MAIN });
    const p = goPlan(dir, { runImage: 'sous-local/busybox:latest', builderImage: 'sous-local/golang:{version}' }, { pem: 'PEM', files: [] });
    expect(p.dockerfile).toContain('--mount=type=bind,source=.sous/ca.pem,target=/run/sous/ca.pem SSL_CERT_FILE=/run/sous/ca.pem go mod download');
    expect(p.dockerfile).toContain('FROM sous-local/golang:1.19 AS build');
    expect(runStage(p.dockerfile)).not.toContain('ca.pem');
    expect(p.extraFiles).toEqual({ '.sous/ca.pem': 'PEM' });
  });
});

describe('goStack()', () => {
  const config = (stacks: Record<string, Record<string, unknown>> = {}) => ({ warnings: [], stacks, build: {} }) as unknown as ResolvedConfig;

  it('recognises go.mod', async () => {
    const sous = new Sous(config()).use(goStack());
    expect(await sous.hooks.detectStack.promise({ dir, config: sous.config } as Workspace)).toBeUndefined();
    app({ 'go.mod': 'module m\n' });
    expect(await sous.hooks.detectStack.promise({ dir, config: sous.config } as Workspace)).toBe('go');
  });

  it('validates its options: go.mod names the version, so there is no version option', () => {
    expect(() => new Sous(config({ go: { version: '1.22' } })).use(goStack()).validateConfig()).toThrow(expect.objectContaining({ code: 'STACK_OPTION_UNKNOWN', field: 'stacks.go.version' }));
    expect(() => new Sous(config({ go: { pakage: './cmd/x' } })).use(goStack()).validateConfig()).toThrow(expect.objectContaining({ message: expect.stringContaining('did you mean package?') }));
    expect(() => new Sous(config({ go: { port: 0 } })).use(goStack()).validateConfig()).toThrow(expect.objectContaining({ code: 'STACK_OPTION_INVALID' }));
    expect(new Sous(config({ go: { package: './cmd/x', env: { GODEBUG: 'x=1' } } })).use(goStack()).validateConfig().errors).toEqual([]);
  });
});
