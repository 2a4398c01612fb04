import { IgnoreMatcher, parseIgnore } from './dockerignore';

const m = (text: string) => new IgnoreMatcher(parseIgnore(text));

describe('.dockerignore rules', () => {
  it('reads lines as Docker does: comments, blanks, trimming, cleaning, a leading slash', () => {
    expect(parseIgnore('# note\n\n  node_modules  \n/build/\n./tmp//x\n! keep.me\n')).toEqual(['node_modules', 'build', 'tmp/x', '!keep.me']);
  });

  it('excludes what a pattern matches and everything below it', () => {
    const r = m('logs\n*.env\n');
    expect(r.ignores('logs')).toBe(true);
    expect(r.ignores('logs/a/b.log')).toBe(true);
    expect(r.ignores('prod.env')).toBe(true);
    expect(r.ignores('conf/prod.env')).toBe(false);
    expect(r.ignores('src/logs.ts')).toBe(false);
  });

  it('keeps * and ? within one path segment; ** crosses directories', () => {
    const r = m('*/tmp\na?c\n**/*.map\n');
    expect(r.ignores('x/tmp')).toBe(true);
    expect(r.ignores('x/y/tmp')).toBe(false);
    expect(r.ignores('abc')).toBe(true);
    expect(r.ignores('a/c')).toBe(false);
    expect(r.ignores('app.js.map')).toBe(true);
    expect(r.ignores('dist/deep/app.js.map')).toBe(true);
  });

  it('lets a later ! line take a path back, and the last matching line wins', () => {
    const r = m('*.md\n!README.md\nREADME.md\n!docs/README.md\n');
    expect(r.ignores('CHANGES.md')).toBe(true);
    expect(r.ignores('README.md')).toBe(true);
    expect(m('*.md\n!README.md\n').ignores('README.md')).toBe(false);
  });

  it('enters an excluded directory only when an exception names something inside it', () => {
    const r = m('logs\n!logs/keep.log\nnode_modules\n');
    expect(r.ignores('logs/keep.log')).toBe(false);
    expect(r.ignores('logs/other.log')).toBe(true);
    expect(r.mayTakeBackBelow('logs')).toBe(true);
    expect(r.mayTakeBackBelow('node_modules')).toBe(false);
  });

  it('treats regular-expression characters literally and supports character classes', () => {
    const r = m('a+b(1).txt\nfile[0-9]\nx[!a]y\n');
    expect(r.ignores('a+b(1).txt')).toBe(true);
    expect(r.ignores('aab1.txt')).toBe(false);
    expect(r.ignores('file7')).toBe(true);
    expect(r.ignores('filex')).toBe(false);
    expect(r.ignores('xby')).toBe(true);
    expect(r.ignores('xay')).toBe(false);
  });
});
