import { inRange } from './autodeploy';

describe('inRange', () => {
  it('takes pre-releases only when the range names one', () => {
    expect(inRange('1.3.0-rc.1', '>=1.2.0-0')).toBe(true);
    expect(inRange('1.2.0-beta.2', '>=1.2.0-0')).toBe(true);
    expect(inRange('1.1.9', '>=1.2.0-0')).toBe(false);
    expect(inRange('1.3.0', '>=1.2.0-0')).toBe(true);
    expect(inRange('1.3.0-rc.1', '^1.2.0')).toBe(false);
    expect(inRange('1.3.0', '^1.2.0')).toBe(true);
    expect(inRange('2.0.0', '^1.2.0')).toBe(false);
    expect(inRange('v1.4.0', '1.x')).toBe(true);
  });
});
