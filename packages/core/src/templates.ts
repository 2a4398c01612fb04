import * as fs from 'node:fs';
import * as path from 'node:path';
import { SousError } from './errors';

let dirCache: string | undefined;

/** Finds templates/: copied into the package at build time, or the repository's own in a checkout. */
export function templateDir(): string {
  if (dirCache) return dirCache;
  const candidates = [path.resolve(__dirname, '../templates'), path.resolve(__dirname, '../../../templates')];
  const found = candidates.find((d) => fs.existsSync(path.join(d, 'sous.config.ts.tmpl')));
  if (!found) throw new SousError('TEMPLATES_MISSING', `cannot find the templates directory (looked in ${candidates.join(', ')})`);
  dirCache = found;
  return found;
}

/** Renders templates/<name> with {{key}} placeholders filled from `values`. */
export function renderTemplate(name: string, values: Record<string, string>): string {
  const text = fs.readFileSync(path.join(templateDir(), name), 'utf8');
  return text.replace(/\{\{\s*([A-Za-z0-9_.]+)\s*\}\}/g, (_, k: string) => {
    if (!(k in values)) throw new SousError('TEMPLATE_VALUE_MISSING', `template ${name} needs a value for ${k}`);
    return values[k];
  });
}
