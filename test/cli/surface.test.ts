/**
 * The CLI's surface (commands, their flags and arguments) is a reviewed
 * interface: this test fails when it changes without the snapshot changing
 * with it. After a deliberate change: SOUS_UPDATE_SURFACE=1 npx jest test/cli/surface.test.ts
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT, requireBuilt } from '../helpers/sous';

const SNAPSHOT = path.join(ROOT, 'test/fixtures/cli-surface.json');

interface ManifestFlag {
  type: string;
  char?: string;
  required?: boolean;
  multiple?: boolean;
  options?: string[];
  allowNo?: boolean;
  aliases?: string[];
}

function surface(): Record<string, { flags: Record<string, string>; args: string[]; aliases: string[] }> {
  const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'packages/cli/oclif.manifest.json'), 'utf8')) as {
    commands: Record<string, { flags: Record<string, ManifestFlag>; args: Record<string, { required?: boolean }>; aliases: string[] }>;
  };
  const out: ReturnType<typeof surface> = {};
  for (const id of Object.keys(manifest.commands).sort()) {
    const c = manifest.commands[id];
    const flags: Record<string, string> = {};
    for (const name of Object.keys(c.flags).sort()) {
      const f = c.flags[name];
      flags[name] = [f.type, f.char ? `-${f.char}` : '', f.required ? 'required' : '', f.multiple ? 'multiple' : '', f.allowNo ? 'allow-no' : '', f.options ? `one of ${f.options.join('|')}` : ''].filter(Boolean).join(' ');
    }
    out[id.replace(/:/g, ' ')] = { flags, args: Object.entries(c.args).map(([n, a]) => (a.required ? n : `[${n}]`)), aliases: (c.aliases ?? []).map((a) => a.replace(/:/g, ' ')) };
  }
  return out;
}

describe('the CLI surface', () => {
  it('matches the committed snapshot', () => {
    requireBuilt();
    const now = surface();
    if (process.env.SOUS_UPDATE_SURFACE === '1') fs.writeFileSync(SNAPSHOT, JSON.stringify(now, null, 2) + '\n');
    expect(now).toEqual(JSON.parse(fs.readFileSync(SNAPSHOT, 'utf8')));
  });

  it('gives every command a summary and at least one example', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'packages/cli/oclif.manifest.json'), 'utf8')) as { commands: Record<string, { summary?: string; examples?: string[] }> };
    for (const [id, c] of Object.entries(manifest.commands)) {
      expect([id, Boolean(c.summary)]).toEqual([id, true]);
      expect([id, (c.examples ?? []).length > 0]).toEqual([id, true]);
    }
  });
});
