import * as fs from 'node:fs';
import * as path from 'node:path';
import { CA_CONTEXT_FILE, CA_TARGET, bindMount, commonPlanParts, execForm, renderTemplate, tidyDockerfile, type CaBundle, type StackPlan } from '@sous/core';
import { mainPackage, readGoMod } from './gomod';
import { GO_DEFAULTS, type GoStackOptions } from './options';

/** What the go stack adds to a build plan. */
export type GoPlan = StackPlan;

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
  const command = opts.command ?? ['/app/app'];
  const vendored = fs.existsSync(path.join(dir, 'vendor', 'modules.txt'));
  const install = opts.install ?? (vendored ? undefined : GO_DEFAULTS.install);
  const manifests = ['go.mod', ...(fs.existsSync(path.join(dir, 'go.sum')) ? ['go.sum'] : [])];
  // Go reads SSL_CERT_FILE in place of the system bundle file but still reads /etc/ssl/certs, so the CA adds to the defaults.
  const caMount = ca ? ` ${bindMount(CA_CONTEXT_FILE, CA_TARGET)}` : '';
  const caEnv = ca ? `SSL_CERT_FILE=${CA_TARGET} ` : '';
  const installStep = install ? `COPY ${manifests.join(' ')} ./\nRUN ${CACHES}${caMount} ${caEnv}${install}` : '';

  const common = commonPlanParts('go', opts, GO_DEFAULTS, version, globalArgs);
  const dockerfile = tidyDockerfile(
    renderTemplate('go.Dockerfile.tmpl', {
      ...common.values,
      goVersion: version,
      installStep,
      buildMounts: `${CACHES}${caMount}`,
      buildEnv: caEnv,
      package: pkg,
      command: execForm(command),
    }),
  );
  const files = { ...common.files, ...(ca ? { [CA_CONTEXT_FILE]: ca.pem } : {}) };
  return { dockerfile, extraFiles: files, buildArgs: common.buildArgs, inputs: common.inputs, command, ignore: [] };
}
