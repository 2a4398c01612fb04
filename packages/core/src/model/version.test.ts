import { isSemver, parseVersion, sameBuild } from './version';

describe('parseVersion', () => {
  it('splits tag and build metadata', () => {
    const v = parseVersion('1.0.0-rc.1+deadbeef');
    expect(v.raw).toBe('1.0.0-rc.1+deadbeef');
    expect(v.tag).toBe('1.0.0-rc.1');
    expect(v.meta).toBe('deadbeef');
  });

  it('accepts and drops a leading v', () => {
    expect(parseVersion('v2.3.4').raw).toBe('2.3.4');
    expect(parseVersion('V2.3.4').tag).toBe('2.3.4');
  });

  it.each(['1.2', 'latest', '', '1.2.3.4', '01.2.3', 'v', '1.2.3-'])('refuses %j with NOT_SEMVER and a hint', (s) => {
    expect(isSemver(s)).toBe(false);
    try {
      parseVersion(s);
      throw new Error('no error');
    } catch (e) {
      expect((e as { code: string }).code).toBe('NOT_SEMVER');
      expect((e as { exit: number }).exit).toBe(2);
      expect((e as { hints: string[] }).hints.length).toBeGreaterThan(0);
    }
  });
});

describe('sameBuild', () => {
  it('takes X+revision as the X running with that revision, a short revision as the full one it begins', () => {
    expect(sameBuild('0.0.51+618536ade78b9a30de9d0a67d34f9c03bad8ca84', '0.0.51')).toBe(true);
    expect(sameBuild('1.0.0-rc.1+deadbeef', '1.0.0-rc.1+deadbeef0123456789abcdef0123456789abcdef')).toBe(true);
    expect(sameBuild('1.0.0+DEADBEEF', '1.0.0+deadbeef01')).toBe(true);
    expect(sameBuild('v1.2.3', '1.2.3')).toBe(true);
  });
  it('tells apart other versions and other revisions', () => {
    expect(sameBuild('1.0.0+deadbeef', '1.0.0+0badc0de')).toBe(false);
    expect(sameBuild('1.0.0-rc.1+deadbeef', '1.0.0+deadbeef')).toBe(false);
    expect(sameBuild('1.0.1', '1.0.0')).toBe(false);
    expect(sameBuild('latest', '1.0.0')).toBe(false);
    expect(sameBuild('latest', 'latest')).toBe(true);
  });
});
