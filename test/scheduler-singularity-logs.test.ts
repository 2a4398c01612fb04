/**
 * `sous logs` on Singularity: the active tasks' sandbox files (stdout,
 * stderr) through Singularity's sandbox proxy, against exchanges modelled on
 * the API reference (test/fixtures/modelled/singularity/logs-*.json, not
 * recorded), served by a replay server that checks every request.
 */
import { isSousError, type LogLine, type LogRequest, type Scheduler, type SousError } from '@sous/core';
import { ReplayServer } from './helpers/replay-server';
import { schedulerFor } from './scheduler-singularity-world';

const SHOP = 'east:github.com/acme/shop';
let replay: ReplayServer | undefined;

afterEach(async () => {
  await replay?.close();
  replay = undefined;
});

async function lines(s: Scheduler, req: LogRequest = {}): Promise<LogLine[]> {
  const out: LogLine[] = [];
  for await (const l of s.streamLogs!(SHOP, req)) out.push(l);
  return out;
}

async function refusal(p: Promise<unknown>): Promise<SousError> {
  try {
    await p;
  } catch (e) {
    if (isSousError(e)) return e;
    throw e;
  }
  throw new Error('expected a SousError');
}

describe('Singularity logs (modelled exchanges)', () => {
  it("reads the last lines of each active task's stdout and stderr, each line naming its instance", async () => {
    replay = await ReplayServer.start('singularity/logs-tail');
    const { scheduler } = await schedulerFor(replay.url);
    expect(await lines(scheduler, { tail: 2 })).toEqual([
      { instance: '1@host-a.example.com', stream: 'stdout', text: 'GET /ready 200' },
      { instance: '1@host-a.example.com', stream: 'stdout', text: 'GET / 200' },
      { instance: '1@host-a.example.com', stream: 'stderr', text: 'warning: cache cold' },
      { instance: '2@host-b.example.com', stream: 'stdout', text: 'listening on 8080' },
    ]);
    replay.verify();
  });

  it('follows one instance, reading on from where each chunk ended, until its task is gone', async () => {
    replay = await ReplayServer.start('singularity/logs-follow');
    const { scheduler } = await schedulerFor(replay.url);
    const got = await lines(scheduler, { follow: true, instance: '1@host-a.example.com' });
    expect(got.map((l) => l.text)).toEqual(['listening on 8080', 'GET /health 200', 'GET /ready 200']);
    expect(new Set(got.map((l) => l.instance))).toEqual(new Set(['1@host-a.example.com']));
    replay.verify();
  });

  it('says NO_INSTANCES when the request has no active task, and refuses --since (sandbox files carry no times) before asking anything', async () => {
    replay = await ReplayServer.start('singularity/logs-none');
    const { scheduler } = await schedulerFor(replay.url);
    expect((await refusal(lines(scheduler))).code).toBe('NO_INSTANCES');
    replay.verify();
    const since = await refusal(lines(scheduler, { since: Date.now() - 60_000 }));
    expect([since.code, since.exit]).toEqual(['LOGS_OPTION_UNSUPPORTED', 2]);
  });
});
