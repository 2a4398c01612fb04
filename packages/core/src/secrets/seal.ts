/**
 * Secrets: references in the GDM (`Secrets: { DB_PASSWORD: "file:ledger/db" }`),
 * values resolved by provider plugins on the machine that rectifies, and keyed
 * hashes wherever a scheduler keeps what it deployed, so a changed value is seen
 * without the value ever being stored, labelled, logged or served.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { failure } from '../errors';
import type { DeploySpec } from '../model/types';

/** What a keyed hash looks like, wherever one stands in for a value. */
export const SEALED_PREFIX = 'hmac-sha256:';

/** Turns a value into its keyed hash (a hash stays as it is). */
export type Seal = (value: string) => string;

/**
 * The key of the keyed hashes: SOUS_SECRET_HASH_KEY, else the file the config
 * names (made with 32 random bytes, readable by its owner only, on first use).
 * Rectifiers of one cluster must share it, or each sees the other's hashes as changes.
 */
export function secretHashKey(file: string, env: Record<string, string | undefined> = process.env): Buffer {
  if (env.SOUS_SECRET_HASH_KEY) return Buffer.from(env.SOUS_SECRET_HASH_KEY, 'utf8');
  try {
    return fs.readFileSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw failure('SECRET_HASH_KEY_UNREADABLE', `cannot read the secret hash key ${file}: ${(e as Error).message}`, { hints: ['Check its permissions, or set secretHashKeyFile in the operator config'] });
  }
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    fs.writeFileSync(file, crypto.randomBytes(32).toString('hex'), { flag: 'wx', mode: 0o600 });
  } catch (e) {
    // Made meanwhile by another process: use that one.
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  return fs.readFileSync(file);
}

export function sealer(key: Buffer): Seal {
  const cache = new Map<string, string>();
  return (value) => {
    if (value.startsWith(SEALED_PREFIX)) return value;
    let h = cache.get(value);
    if (!h) {
      h = SEALED_PREFIX + crypto.createHmac('sha256', key).update(value).digest('hex').slice(0, 32);
      if (cache.size < 100_000) cache.set(value, h);
    }
    return h;
  };
}

/** Env with every value sealed (undefined stays undefined). */
export function sealEnv(env: Record<string, string> | undefined, seal: Seal): Record<string, string> | undefined {
  if (!env) return env;
  const out: Record<string, string> = {};
  for (const k of Object.keys(env)) out[k] = seal(env[k]);
  return out;
}

/** The spec as a scheduler may keep it: Env values sealed; Secrets are references already. */
export function sealedSpec(spec: DeploySpec, seal: Seal): DeploySpec {
  return spec.Env && Object.keys(spec.Env).length ? { ...spec, Env: sealEnv(spec.Env, seal) } : spec;
}
