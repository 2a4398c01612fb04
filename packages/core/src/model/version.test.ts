import { isSemver, parseVersion } from './version';

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
