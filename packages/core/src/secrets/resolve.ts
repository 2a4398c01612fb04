import { failure, isSousError, SousError } from '../errors';
import type { Sous } from '../hooks/sous';
import { markSecret } from '../log';
import { parseSecretRef } from '../model/manifest';
import type { DeployState } from '../pipeline/types';
import type { Seal } from './seal';

/** What one pass resolved: values for the schedulers, or why a deployment's secrets cannot be had. */
export interface ResolvedSecrets {
  /** Deployment ID → variable → value. Handed to schedulers only; never logged. */
  values: Map<string, Record<string, string>>;
  /** Deployment ID → why its secrets could not be read (SECRET_NOT_FOUND, SECRET_PROVIDER_FAILED, ...). */
  errors: Map<string, SousError>;
}

/**
 * Resolves the secrets of the intended deployments that have any: each key read
 * once per pass from its provider, every value marked secret for the logger,
 * and each deployment given its keyed hashes (`DeployState.secrets`).
 */
export async function resolveSecrets(sous: Sous, deployments: DeployState[], seal: Seal): Promise<ResolvedSecrets> {
  const values = new Map<string, Record<string, string>>();
  const errors = new Map<string, SousError>();
  const wanted = new Map<string, Set<string>>();
  const using = deployments.filter((d) => d.spec.Secrets && Object.keys(d.spec.Secrets).length);
  for (const d of using) {
    for (const ref of Object.values(d.spec.Secrets!)) {
      const { provider, key } = parseSecretRef(ref);
      (wanted.get(provider) ?? wanted.set(provider, new Set()).get(provider)!).add(key);
    }
  }
  const got = new Map<string, Map<string, string | SousError>>();
  const failed = new Map<string, SousError>();
  await Promise.all(
    [...wanted.entries()].map(async ([name, keys]) => {
      const provider = sous.hooks.secretProvider.get(name)?.call(sous.config);
      if (!provider) {
        const known = sous.secretProviders();
        failed.set(name, failure('SECRET_PROVIDER_UNKNOWN', `no plugin provides secrets of kind ${JSON.stringify(name)}`, { hints: [`providers here: ${known.join(', ') || '(none)'}`, "Add the provider's plugin to the operator config, or correct the reference"] }));
        return;
      }
      try {
        const read = await provider.read([...keys]);
        for (const v of read.values()) if (typeof v === 'string') markSecret(v);
        got.set(name, read);
      } catch (e) {
        const se = isSousError(e) ? e : failure('SECRET_PROVIDER_FAILED', `the ${name} secret provider failed: ${(e as Error).message}`);
        failed.set(name, se.code === 'SECRET_PROVIDER_FAILED' ? se : new SousError('SECRET_PROVIDER_FAILED', se.message, { hints: se.hints, cause: se }));
      }
    }),
  );
  for (const d of using) {
    const out: Record<string, string> = {};
    const hashes: Record<string, string> = {};
    for (const name of Object.keys(d.spec.Secrets!).sort()) {
      const { provider, key } = parseSecretRef(d.spec.Secrets![name]);
      const err = failed.get(provider);
      if (err) {
        errors.set(d.id, err);
        break;
      }
      const v = got.get(provider)?.get(key);
      if (isSousError(v)) {
        errors.set(d.id, v);
        break;
      }
      if (v === undefined) {
        errors.set(d.id, failure('SECRET_NOT_FOUND', `the ${provider} secret provider has no key ${JSON.stringify(key)} (for ${name} of ${d.id})`, { hints: [`Add the key to the ${provider} provider, or change the reference in the manifest`, 'The version already running keeps running'] }));
        break;
      }
      out[name] = v;
      hashes[name] = seal(v);
    }
    if (errors.has(d.id)) continue;
    values.set(d.id, out);
    d.secrets = hashes;
  }
  return { values, errors };
}
