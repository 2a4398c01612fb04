import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { checkUserConfig } from '../config/load';
import { checkImageNameTemplate, imageNameFor } from './naming';

/** Every config block of docs/registries.md is a valid operator config, and names the example application validly. */
describe('docs/registries.md', () => {
  const text = fs.readFileSync(path.resolve(__dirname, '../../../../docs/registries.md'), 'utf8');
  const blocks = [...text.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]);

  it('has a block per registry', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(8);
  });

  it.each(blocks.map((b, i) => [i, b]))('block %i', (_i, block) => {
    const cfg = checkUserConfig(parse(block as string), 'docs/registries.md');
    for (const [host, s] of Object.entries(cfg.registries ?? {})) {
      if (s.imageName) expect(checkImageNameTemplate(s.imageName, `registries.${host}.imageName`)).toBeUndefined();
    }
    if (cfg.registry) {
      const name = imageNameFor(cfg, cfg.registry, 'github.com/acme/shop', 'api');
      expect(name.startsWith(cfg.registry)).toBe(true);
      expect(imageNameFor(cfg, cfg.registry, 'github.com/acme/shop', '')).not.toMatch(/[-/]$/);
    }
  });
});
