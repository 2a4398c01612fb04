import { Sous } from '../hooks/sous';
import type { ResolvedConfig } from '../config/types';
import type { SousPlugin } from '../hooks/plugin';
import { emitEvent } from './emit';
import { ConsoleNotifier, NotifierTypesCheck, consoleText, coreNotifyPlugins } from './console-notifier';
import { claimNotifierType } from './registry';
import { completeEvent } from './emit';

function config(notifiers: Record<string, unknown>[]): ResolvedConfig {
  return { warnings: [], notifiers, user: { name: 'Alice', email: 'alice@example.com' }, origins: { notifiers: 'user' }, files: { user: '/home/a/.config/sous/config.yaml' } } as unknown as ResolvedConfig;
}

describe('console notifier', () => {
  it('prints routed events as readable lines', async () => {
    const out: [string, string][] = [];
    const sous = new Sous(config([{ type: 'console', events: ['deploy.*'] }, { type: 'console', stream: 'stdout', detail: true, events: ['deploy.failed'] }])).use(
      new ConsoleNotifier({ write: (s, t) => void out.push([s, t]) }),
      new NotifierTypesCheck(),
    );
    sous.validateConfig();
    await emitEvent(sous, { type: 'deploy.succeeded', manifestID: 'github.com/acme/shop', cluster: 'prod', version: '1.2.3' });
    await emitEvent(sous, { type: 'deploy.failed', manifestID: 'github.com/acme/shop', cluster: 'prod', version: '1.2.4', phase: 'rectify', error: { code: 'SCHEDULER_FAILED', message: 'tasks keep exiting' } });
    await emitEvent(sous, { type: 'build.started', manifestID: 'github.com/acme/shop', version: '1.2.4', source: { repo: 'github.com/acme/shop', offset: '', revision: 'abc' } });
    expect(out).toEqual([
      ['stderr', '✅ Deployed: github.com/acme/shop 1.2.3 → prod  (Alice)\n'],
      ['stderr', '❌ Deploy failed: github.com/acme/shop 1.2.4 → prod (rectify)  (Alice)\n'],
      [
        'stdout',
        [
          '❌ Deploy failed: github.com/acme/shop 1.2.4 → prod (rectify)  (Alice)',
          '    Deployment: prod:github.com/acme/shop',
          '    Version: 1.2.4',
          '    Cluster: prod',
          '    User: Alice <alice@example.com>',
          '    Phase: rectify',
          '    Error: tasks keep exiting [SCHEDULER_FAILED]',
          '',
        ].join('\n'),
      ],
    ]);
  });

  it('checks its entries', () => {
    const sous = new Sous(config([{ type: 'console', stream: 'stdrr', evnts: ['*'] }])).use(...coreNotifyPlugins());
    expect(() => sous.validateConfig()).toThrow('/home/a/.config/sous/config.yaml: notifiers[0] (console): unknown key "evnts"');
  });

  it('reads every documented event type', () => {
    const e = completeEvent({ type: 'rectify.removed', manifestID: 'github.com/acme/old', cluster: 'prod', reason: 'not in the GDM; AllowPrune is off' }, { user: { name: 'Sous', email: 'sous@example.com' } });
    expect(consoleText(e)).toBe('⚠️ No longer intended, left running: prod:github.com/acme/old  (Sous)\n');
  });
});

describe('notifier types check', () => {
  const fake = (type: string): SousPlugin => ({ name: `x:${type}`, apply: (sous) => void claimNotifierType(sous, type, `x:${type}`) });

  it('reports a type no plugin handles, with a did-you-mean', () => {
    const sous = new Sous(config([{ type: 'console' }, { type: 'slak', url: 'https://hooks.slack.com/x' }])).use(...coreNotifyPlugins(), fake('slack'));
    let err: unknown;
    try {
      sous.validateConfig();
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({
      code: 'NOTIFIER_UNKNOWN_TYPE',
      message: '/home/a/.config/sous/config.yaml: notifiers[1]: no plugin handles notifier type "slak"',
      field: 'notifiers.1.type',
      hints: ['did you mean "slack"?', 'For a notifier of your own, add its plugin to plugins (the package @sous/plugin-notify-slak, if that is its name)'],
      exit: 2,
    });
  });

  it('reports an entry without a type, and accepts handled types', () => {
    const missing = new Sous(config([{ url: 'https://x' }])).use(...coreNotifyPlugins());
    expect(() => missing.validateConfig()).toThrow('notifiers[0]: type is required');
    const ok = new Sous(config([{ type: 'console' }, { type: 'slack' }])).use(...coreNotifyPlugins(), fake('slack'));
    expect(ok.validateConfig().warnings).toEqual([]);
  });
});
