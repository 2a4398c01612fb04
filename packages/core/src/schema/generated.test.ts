import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';

const ROOT = path.resolve(__dirname, '../../../..');
const OUT = path.join(ROOT, 'packages/core/src/generated');

/**
 * The types in src/generated/ are generated from schemas/ by scripts/gen-types.js.
 * Regenerate them in memory (in a plain node process: prettier, which the
 * generator formats with, needs native dynamic import) and compare: any
 * difference means someone edited one side only.
 */
describe('generated types', () => {
  it('match what scripts/gen-types.js makes from schemas/ today', () => {
    const script = `require(${JSON.stringify(path.join(ROOT, 'scripts/gen-types.js'))}).generate().then((f) => process.stdout.write(JSON.stringify(f)), (e) => { console.error(e); process.exit(1); })`;
    const fresh = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })) as Record<string, string>;
    expect(Object.keys(fresh).length).toBeGreaterThan(0);
    const onDisk = fs.readdirSync(OUT).filter((f) => f.endsWith('.ts')).sort();
    expect(onDisk).toEqual(Object.keys(fresh).sort());
    const drifted = Object.entries(fresh)
      .filter(([name, text]) => fs.readFileSync(path.join(OUT, name), 'utf8') !== text)
      .map(([name]) => `packages/core/src/generated/${name}`);
    // Regenerate with: npm run gen:types
    expect(drifted).toEqual([]);
  });
});
