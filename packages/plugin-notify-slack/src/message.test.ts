import { completeEvent } from '@sous/core';
import { escapeMrkdwn, slackMessage } from './message';

const user = { name: 'Sous', email: 'sous@example.com' };

describe('slackMessage', () => {
  it('escapes Slack markup in what events carry', () => {
    expect(escapeMrkdwn('a <b> & c')).toBe('a &lt;b&gt; &amp; c');
  });

  it('colours by outcome: drift amber, ready green, held red, requested blue', () => {
    const colour = (e: Parameters<typeof completeEvent>[0]) => slackMessage(completeEvent(e, { user })).attachments[0].color;
    expect(colour({ type: 'rectify.drift', manifestID: 'm', cluster: 'prod', version: '1.0.0', intended: { instances: 3 }, actual: { instances: 1 }, differences: ['instances: 3 intended, 1 running'] })).toBe('#ecb22e');
    expect(colour({ type: 'artifact.ready', manifestID: 'm', version: '1.0.0', source: { repo: 'm', offset: '', revision: 'r' }, image: 'reg/m@sha256:' + 'b'.repeat(64), digest: 'sha256:' + 'b'.repeat(64), precache: {} })).toBe('#2eb67d');
    expect(colour({ type: 'rectify.held', manifestID: 'm', cluster: 'prod', version: '1.0.0', failures: 3, error: { code: 'X', message: 'y' } })).toBe('#e01e5a');
    expect(colour({ type: 'deploy.requested', manifestID: 'm', cluster: 'prod', version: '1.0.0' })).toBe('#1d9bd1');
  });

  it('keeps within Slack limits: at most 10 fields', () => {
    const e = completeEvent(
      {
        type: 'deploy.failed',
        manifestID: 'm',
        cluster: 'prod',
        version: '1.0.0',
        phase: 'verify',
        error: { code: 'VERIFY_FAILED', message: 'checks failed' },
        checks: Array.from({ length: 12 }, (_, i) => ({ name: `c${i}`, ok: false, message: 'no' })),
      },
      { user },
    );
    const section = slackMessage(e).attachments[0].blocks[0];
    expect(section.type === 'section' && section.fields?.length).toBe(10);
  });
});
