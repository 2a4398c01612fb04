/**
 * `sous config KEY [VALUE]`: one setting read from the resolved config, or
 * written into the user config file, as the original's `sous config` did.
 * Keys are today's (`registry`, `user.email`, `rectify.concurrency`) or the
 * original's (`Docker.RegistryHost`, `User.Email`); an original-form file
 * is written in its own form, so the original can go on reading it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseDocument, parse as parseScalar } from 'yaml';
import { usageError } from '../errors';
import { writeFileAtomic } from '../events/outbox';
import { closest } from '../util/text';
import { checkUserConfig, configHome } from './load';
import { isLegacyConfig, LEGACY_KEYS, mapLegacyConfig } from './legacy';
import type { ResolvedConfig, UserConfig } from './types';

/** The settings `sous config KEY VALUE` writes (dotted), besides the original's keys. */
export const SETTABLE = ['server', 'token', 'stateLocation', 'stateRemote', 'registry', 'dockerHost', 'user.name', 'user.email', 'logLevel', 'stack', 'signingKey', 'webhookSecret', 'rectify.concurrency', 'rectify.retries', 'rectify.holdAfterFailures', 'rectify.resyncSeconds', 'tagBuilds.pollSeconds', 'tagBuilds.concurrency', 'tagBuilds.keepJobs'];
const SECRET = new Set(['token', 'webhookSecret']);
const NUMERIC = new Set(SETTABLE.filter((k) => k.startsWith('rectify.') || k.startsWith('tagBuilds.')));

function unknownKey(key: string): never {
  const all = [...SETTABLE, ...LEGACY_KEYS.map((k) => k.key)];
  const near = closest(key, all);
  throw usageError('CONFIG_UNKNOWN_KEY', `${JSON.stringify(key)} is not a setting sous config knows`, {
    hints: [...(near ? [`did you mean ${near}?`] : []), `settings: ${SETTABLE.join(', ')}; the original's keys (${LEGACY_KEYS.filter((k) => k.setting).map((k) => k.key).join(', ')}) work too`],
  });
}

/** Today's dotted setting for a key (today's or the original's). */
export function settingOf(key: string): string {
  if (SETTABLE.includes(key)) return key;
  const legacy = LEGACY_KEYS.find((k) => k.key === key);
  if (legacy && !legacy.setting) {
    throw usageError('CONFIG_LEGACY_KEY_UNUSED', `the original Sous's ${key} has no counterpart here: ${legacy.note}`, { hints: ['See docs/migrating-from-go-sous.md'] });
  }
  if (legacy) return legacy.setting!;
  return unknownKey(key);
}

/** The resolved value of one setting, and where it came from; secrets are shown as [set]. */
export function configValue(cfg: ResolvedConfig, key: string): { key: string; setting: string; value: unknown; origin: string } {
  const setting = settingOf(key);
  let v: unknown = cfg;
  for (const p of setting.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[p] : undefined;
  const top = setting.split('.')[0];
  return { key, setting, value: SECRET.has(setting) && v ? '[set]' : v, origin: cfg.origins[top] ?? 'default' };
}

/** Where `sous config KEY VALUE` writes: the user config in use, or a new config.yaml. */
export function userConfigTarget(cfg: ResolvedConfig, env: Record<string, string | undefined> = process.env): string {
  return cfg.files.user ?? path.join(configHome(env), 'sous', 'config.yaml');
}

/**
 * Sets one key in a YAML or JSON user config file (created when missing),
 * keeping the rest of the document; the result is checked as a config before
 * it is written, and nothing is written when it is refused.
 */
export async function setConfigValue(file: string, key: string, raw: string): Promise<{ file: string; key: string; written: string; value: unknown }> {
  const setting = settingOf(key);
  const ext = path.extname(file);
  if (!['.yaml', '.yml', '.json', ''].includes(ext)) {
    throw usageError('CONFIG_NOT_WRITABLE', `${file} is a program, not a document sous config can edit`, { file, hints: [`Edit it yourself, or point --config at a config.yaml: sous config --config ~/.config/sous/config.yaml ${key} ${raw}`] });
  }
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const doc = parseDocument(text);
  if (doc.errors.length) throw usageError('CONFIG_SYNTAX', `${file}: ${doc.errors[0].message.split('\n')[0]}`, { file, hints: ['Fix the file\'s YAML first'] });
  const current = (doc.toJS() ?? {}) as Record<string, unknown>;
  const legacyFile = isLegacyConfig(current);
  let written = setting;
  if (legacyFile) {
    const legacy = LEGACY_KEYS.find((k) => k.setting === setting);
    if (!legacy) {
      throw usageError('CONFIG_LEGACY_FILE', `${file} is the original Sous's config, which has no ${setting}; writing it there would make the file neither Sous's`, {
        file,
        hints: ['Keep the original\'s keys in that file and give this Sous a config of its own with --config (or SOUS_CONFIG)', 'See docs/migrating-from-go-sous.md'],
      });
    }
    written = legacy.key;
  }
  // A value is a string unless the setting is a number.
  const parsed = parseScalar(raw) as unknown;
  const candidates: unknown[] = NUMERIC.has(setting) && typeof parsed === 'number' ? [parsed] : [raw];
  let lastError: unknown;
  for (const value of candidates) {
    const next = doc.clone();
    next.setIn(written.split('.'), value);
    const js = (next.toJS() ?? {}) as Record<string, unknown>;
    try {
      if (legacyFile) {
        const mapped = mapLegacyConfig(js, file).config;
        checkUserConfig(mapped as UserConfig, file);
      } else checkUserConfig(js as UserConfig, file);
    } catch (e) {
      lastError = e;
      continue;
    }
    fs.mkdirSync(path.dirname(file), { recursive: true });
    await writeFileAtomic(file, ext === '.json' ? `${JSON.stringify(js, null, 2)}\n` : String(next));
    return { file, key, written, value: SECRET.has(setting) ? '[set]' : value };
  }
  throw lastError;
}
