import { statusOf } from './read';
import { newDeployID } from './ids';
import { healthcheckFor, kindOf, startupFrom } from './wire';

describe('Singularity wire forms', () => {
  it('maps Startup to a health check and back without loss', () => {
    const st = { ConnectDelay: 60, Timeout: 10, ConnectInterval: 1, CheckReadyProtocol: 'HTTPS' as const, CheckReadyURIPath: '/health', CheckReadyPortIndex: 1, CheckReadyFailureStatuses: [500, 503], CheckReadyURITimeout: 5, CheckReadyInterval: 2, CheckReadyRetries: 120 };
    const hc = healthcheckFor(st)!;
    expect(hc).toEqual({ uri: '/health', protocol: 'HTTPS', portIndex: 1, startupDelaySeconds: 60, startupTimeoutSeconds: 10, startupIntervalSeconds: 1, intervalSeconds: 2, responseTimeoutSeconds: 5, maxRetries: 120, failureStatusCodes: [500, 503] });
    expect(startupFrom(hc)).toEqual(st);
    expect(healthcheckFor({ SkipCheck: true, CheckReadyURIPath: '/x' })).toBeUndefined();
    expect(startupFrom(undefined)).toEqual({ SkipCheck: true });
  });

  it('reads deploy results as the original did: SUCCEEDED Active, none yet Pending, anything else Failed with the failures', () => {
    expect(statusOf({ deployState: 'SUCCEEDED' })).toEqual({ status: 'Active' });
    expect(statusOf(undefined)).toEqual({ status: 'Pending' });
    expect(statusOf({ deployState: 'OVERDUE', message: 'Deploy was overdue' })).toEqual({ status: 'Failed', message: 'OVERDUE: Deploy was overdue' });
    expect(statusOf({ deployState: 'FAILED', deployFailures: [{ message: 'a' }, { reason: 'TASK_NEVER_ENTERED_RUNNING' }] })).toEqual({ status: 'Failed', message: 'FAILED: a, TASK_NEVER_ENTERED_RUNNING' });
  });

  it('keeps the recorded kind when it fits the request type', () => {
    expect(kindOf('SCHEDULED', 'scheduled-job')).toBe('scheduled-job');
    expect(kindOf('SCHEDULED', 'worker')).toBe('scheduled');
    expect(kindOf('RUN_ONCE', undefined)).toBe('once');
  });

  it('makes deploy IDs Singularity accepts: no dashes, under 50 characters, the version first', () => {
    const id = newDeployID('1.2.0-rc.1+build.77');
    expect(id).toMatch(/^1_2_0_rc_1_[0-9a-f]+$/);
    expect(id.length).toBeLessThanOrEqual(49);
    expect(newDeployID('1.2.0')).not.toBe(newDeployID('1.2.0'));
  });
});
