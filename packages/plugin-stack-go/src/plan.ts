import * as fs from 'node:fs';
import * as path from 'node:path';
import { CA_CONTEXT_FILE, argLines, bindMount, envLines, execForm, imageRef, readExtraFiles, renderTemplate, tidyDockerfile, type BuildPlan, type CaBundle } from '@sous/core';
import { mainPackage, readGoMod } from './gomod';
import { GO_DEFAULTS, type GoStackOptions } from './options';

/** What the go stack adds to a build plan. */
export type GoPlan = Pick<BuildPlan, 'dockerfile' | 'extraFiles' | 'buildArgs' | 'inputs' | 'command' | 'ignore'>;

const CA_TARGET = '/run/sous/ca.pem';
const CACHES = '--mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build';

/**
 * The go stack's plan: the go version from go.mod, the modules downloaded
 * from go.mod/go.sum alone (skipped for a vendored module), a static binary
 * (CGO_ENABLED=0, -trimpath) copied alone onto the run image.
 */
export function goPlan(dir: string, opts: GoStackOptions, ca?: CaBundle, globalArgs: Record<string, string> = {}): GoPlan {
  const mod = readGoMod(dir);
  const version = mod.toolchain ?? mod.go;
  const pkg = opts.package ?? mainPackage(dir);
  const builderImage = imageRef(opts.builderImage ?? opts.baseImage ?? GO_DEFAULTS.builderImage, version);
  const runImage = imageRef(opts.runImage ?? opts.baseImage ?? GO_DEFAULTS.runImage, version);
  const command = opts.command ?? ['/app/app'];
  const buildArgs = { ...globalArgs, ...(opts.buildArgs ?? {}) };
  const vendored = fs.existsSync(path.join(dir, 'vendor', 'modules.txt'));
  const install = opts.install ?? (vendored ? undefined : GO_DEFAULTS.install);
  const manifests = ['go.mod', ...(fs.existsSync(path.join(dir, 'go.sum')) ? ['go.sum'] : [])];
  // Go reads SSL_CERT_FILE in place of the system bundle file but still reads /etc/ssl/certs, so the CA adds to the defaults.
  const caMount = ca ? ` ${bindMount(CA_CONTEXT_FILE, CA_TARGET)}` : '';
  const caEnv = ca ? `SSL_CERT_FILE=${CA_TARGET} ` : '';
  const installStep = install ? `COPY ${manifests.join(' ')} ./\nRUN ${CACHES}${caMount} ${caEnv}${install}` : '';

  const dockerfile = tidyDockerfile(
    renderTemplate('go.Dockerfile.tmpl', {
      goVersion: version,
      builderImage,
      runImage,
      buildArgs: argLines(buildArgs),
      installStep,
      buildMounts: `${CACHES}${caMount}`,
      buildEnv: caEnv,
      package: pkg,
      env: envLines(opts.env),
      extraFiles: Object.keys(opts.extraFiles ?? {}).length ? 'COPY .sous/files/ /app/' : '',
      user: String(opts.user ?? GO_DEFAULTS.user),
      port: String(opts.port ?? GO_DEFAULTS.port),
      command: execForm(command),
    }),
  );
  const files: Record<string, string | Buffer> = {};
  for (const [p, c] of Object.entries(readExtraFiles('go', opts.extraFiles))) files[`.sous/files/${p}`] = c;
  if (ca) files[CA_CONTEXT_FILE] = ca.pem;
  return { dockerfile, extraFiles: files, buildArgs, inputs: { 'image:builder': builderImage, 'image:run': runImage }, command, ignore: [] };
}
