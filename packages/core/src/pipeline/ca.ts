import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { usageError } from '../errors';
import type { ResolvedConfig } from '../config/types';

/** Extra CA certificates for the build steps that fetch packages (never for the run image). */
export interface CaBundle {
  /** The certificates, concatenated PEM, each file once. */
  pem: string;
  /** Where they came from, in order: absolute paths. */
  files: string[];
}

/** The environment variables whose CA files builds honour, as the tools themselves do. */
export const CA_ENV_VARS = ['NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE'] as const;

function expand(p: string, cwd: string): string {
  if (p === '~' || p.startsWith('~/')) return path.join(os.homedir(), p.slice(1));
  return path.resolve(cwd, p);
}

/**
 * Collects the CA certificates a build must trust to reach package
 * registries through an intercepting proxy: `build.caCerts` from the config,
 * then the files named by NODE_EXTRA_CA_CERTS and SSL_CERT_FILE. The same
 * file named twice is read once. Returns undefined when none is configured.
 */
export function collectCaCerts(
  config: Pick<ResolvedConfig, 'build'>,
  env: Record<string, string | undefined> = process.env,
  cwd: string = process.cwd(),
): CaBundle | undefined {
  const wanted: { file: string; from: string; field?: string }[] = [];
  (config.build.caCerts ?? []).forEach((f, i) => wanted.push({ file: f, from: `build.caCerts[${i}] in the config`, field: `build.caCerts.${i}` }));
  for (const v of CA_ENV_VARS) {
    const f = env[v];
    if (f) wanted.push({ file: f, from: `the environment variable ${v}` });
  }
  if (!wanted.length) return undefined;

  const seen = new Set<string>();
  const files: string[] = [];
  const parts: string[] = [];
  for (const w of wanted) {
    const abs = expand(w.file, cwd);
    let real: string;
    let text: string;
    try {
      real = fs.realpathSync(abs);
      text = fs.readFileSync(real, 'utf8');
    } catch (e) {
      throw usageError('CA_CERT_NOT_FOUND', `the CA certificate file ${abs} (from ${w.from}) cannot be read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, {
        file: abs,
        field: w.field,
        hints: [`Check the path, or remove it from ${w.field ? 'build.caCerts' : w.from.replace('the environment variable ', '')}`],
      });
    }
    if (seen.has(real)) continue;
    seen.add(real);
    if (!/-----BEGIN CERTIFICATE-----/.test(text)) {
      throw usageError('CA_CERT_INVALID', `${abs} (from ${w.from}) holds no PEM certificate (no "-----BEGIN CERTIFICATE-----" line)`, {
        file: abs,
        field: w.field,
        hints: ['Give a PEM file (a CA bundle such as /etc/ssl/certs/ca-certificates.crt); convert DER with: openssl x509 -inform der -in ca.der -out ca.pem'],
      });
    }
    files.push(abs);
    parts.push(text.endsWith('\n') ? text : `${text}\n`);
  }
  return { pem: parts.join(''), files };
}

/** Where a stack puts the CA bundle in the build context (never copied into an image). */
export const CA_CONTEXT_FILE = '.sous/ca.pem';

/**
 * A `RUN --mount` flag that shows a context file to one build step only, so
 * it is in no layer at all, not even the builder's.
 */
export function bindMount(source: string, target: string): string {
  return `--mount=type=bind,source=${source},target=${target}`;
}
