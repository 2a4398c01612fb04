import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as crypto from 'node:crypto';
import { formatSourceLocation, isSousError, SOUS_LABELS, STAGE, usageError, type Artifact, type ResolvedConfig, type Sous, type SousPlugin, type VerifyReport, type VerifyRequest } from '@sous/core';
import { OPTIONAL_KEYS } from './cosign';
import { loadPrivateKey, PASSPHRASE_ENV } from './keys';
import { signImage } from './sign';
import { verifyImageSignature } from './verify';

/** Options of the sign plugin; each overrides the config's `sign` section. */
export interface SignPluginOptions {
  /** The private key: a path to a PEM file, or the PEM itself. Default: config.sign.key, then config.signingKey. */
  key?: string;
  /** The environment variable holding the key's passphrase (default SOUS_SIGNING_PASSPHRASE). */
  passphraseEnv?: string;
  /** Registries (host or host:port) spoken to over plain HTTP or unverified TLS, besides those the config's registries mark insecure. */
  insecureRegistries?: string[];
  /** Extra string annotations for every signature payload's `optional` section. */
  annotations?: Record<string, string>;
}

/** The config's `sign` section, as this plugin reads it. */
export interface SignConfig {
  key?: string;
  passphraseEnv?: string;
  /** Deprecated: registries.<host>.insecure. Still read, with a warning. */
  insecureRegistries?: string[];
  annotations?: Record<string, string>;
}

function sousVersion(): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** The payload's `optional` section for an artifact: the Sous version, what was built, and each contract's result. */
export function artifactAnnotations(artifact: Artifact, extra: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = { ...extra, [OPTIONAL_KEYS.sousVersion]: sousVersion() };
  out[OPTIONAL_KEYS.source] = formatSourceLocation({ repo: artifact.source.repo, dir: artifact.source.offset });
  const version = artifact.image.labels?.[SOUS_LABELS.version] ?? artifact.source.version;
  if (version) out[OPTIONAL_KEYS.version] = version;
  if (artifact.source.revision) out[OPTIONAL_KEYS.revision] = artifact.source.revision;
  for (const c of artifact.contracts) out[`${OPTIONAL_KEYS.contractPrefix}${c.name}`] = c.status;
  return out;
}

/**
 * Signs every published image with the configured key (cosign's format, so
 * `cosign verify --key` accepts it) and refuses deploys to clusters with
 * RequireSignature unless a trusted key signed the image.
 */
export class SignPlugin implements SousPlugin {
  static readonly PLUGIN_NAME = 'sous:sign';
  readonly name = SignPlugin.PLUGIN_NAME;
  private key?: { ref: string; key: crypto.KeyObject; keyId: string };

  constructor(private readonly opts: SignPluginOptions = {}) {}

  private section(config: ResolvedConfig): SignConfig {
    return (config.sign ?? {}) as SignConfig;
  }

  /** The configured key reference, or undefined when signing is off. */
  keyRef(config: ResolvedConfig): string | undefined {
    return this.opts.key ?? this.section(config).key ?? config.signingKey ?? undefined;
  }

  /** Insecure hosts given to the plugin itself; the config's (registries.<host>.insecure, and sign.insecureRegistries) are read from it. */
  private insecure(_config: ResolvedConfig): string[] {
    return this.opts.insecureRegistries ?? [];
  }

  /** Loads (once) the signing key, reading its passphrase from the environment. */
  loadKey(config: ResolvedConfig): { key: crypto.KeyObject; keyId: string } | undefined {
    const ref = this.keyRef(config);
    if (!ref) return undefined;
    if (this.key?.ref === ref) return this.key;
    const env = this.opts.passphraseEnv ?? this.section(config).passphraseEnv ?? PASSPHRASE_ENV;
    const k = loadPrivateKey(ref, process.env[env] || undefined);
    this.key = { ref, key: k.key, keyId: k.keyId };
    return this.key;
  }

  apply(sous: Sous): void {
    sous.hooks.validate.tap(this.name, (config, report) => {
      const s = this.section(config) as Record<string, unknown>;
      const bad = (field: string, want: string) => report.errors.push(usageError('INVALID_CONFIG', `sign.${field} must be ${want}`, { field: `sign.${field}`, hints: ['See the @sous/plugin-sign README for the sign section'] }));
      for (const f of ['key', 'passphraseEnv'] as const) if (s[f] !== undefined && typeof s[f] !== 'string') bad(f, 'a string');
      if (s.insecureRegistries !== undefined && !(Array.isArray(s.insecureRegistries) && s.insecureRegistries.every((x) => typeof x === 'string'))) bad('insecureRegistries', 'a list of host[:port] strings');
      if (s.annotations !== undefined && !(s.annotations && typeof s.annotations === 'object' && Object.values(s.annotations).every((x) => typeof x === 'string'))) bad('annotations', 'an object of string values');
    });

    // Opening the key first thing means a wrong passphrase or a missing key file fails the build before anything is built or pushed.
    sous.hooks.sourceContext.tapPromise({ name: this.name, stage: STAGE.LATE }, async (ctx) => {
      this.loadKey(sous.config);
      return ctx;
    });

    sous.hooks.sign.tapPromise(this.name, async (artifact) => {
      const k = this.loadKey(sous.config);
      if (!k) return;
      const r = await signImage({
        image: artifact.reference,
        digest: artifact.digest,
        key: k.key,
        optional: artifactAnnotations(artifact, { ...this.section(sous.config).annotations, ...this.opts.annotations }),
        insecure: this.insecure(sous.config),
        config: sous.config,
      });
      artifact.signature = { tag: r.tag, digest: r.digest, keyId: r.keyId };
      sous.context(this.name).logger.info(`signed ${artifact.reference} (${r.tag}, key ${r.keyId}${r.reused ? ', already signed' : ''})`);
    });

    sous.hooks.verifyArtifact.tapPromise(this.name, async (req, report) => this.verifyForCluster(sous, req, report));
  }

  /** The deploy check: with RequireSignature, a valid signature by one of the cluster's TrustedKeys, or a refusal with its code. */
  async verifyForCluster(sous: Sous, req: VerifyRequest, report: VerifyReport): Promise<void> {
    if (!req.clusterDef.RequireSignature) return;
    const push = (ok: boolean, message: string, code?: string) => report.checks.push({ name: 'signature', ok, message, ...(code ? { code } : {}) });
    const image = report.image ?? req.image;
    const digest = report.digest ?? req.digest;
    if (!image || !digest) return void push(false, `cluster ${req.cluster} requires a signature, and the artifact names no image digest to check`, 'SIGNATURE_MISSING');
    const keys = req.clusterDef.TrustedKeys ?? [];
    if (!keys.length) return void push(false, `cluster ${req.cluster} requires a signature but trusts no key (its TrustedKeys is empty)`, 'NO_TRUSTED_KEYS');
    try {
      const v = await verifyImageSignature({ image, digest, keys, insecure: this.insecure(sous.config), config: sous.config });
      push(true, `signed by trusted key ${[...new Set(v.signatures.map((s) => s.keyId))].join(', ')}`);
    } catch (e) {
      if (!isSousError(e)) throw e;
      push(false, e.message, e.code);
    }
  }
}

/** The sign plugin, for sous.config.ts: `plugins: [sign({ key: 'ci.key' })]`. */
export const sign = (opts?: SignPluginOptions): SignPlugin => new SignPlugin(opts);
