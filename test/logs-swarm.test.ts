/**
 * `sous logs` on a real single-node swarm (a private dockerd in swarm mode):
 * each running task's output, named service.slot.task, with --tail,
 * --instance and --follow, read through the scheduler as the CLI reads it.
 */
import { deploymentLogs, type LogLine, type LogRequest } from '@sous/core';
import { LABELS } from '@sous/plugin-scheduler-docker';
import { serviceName, SwarmSchedulerPlugin } from '@sous/plugin-scheduler-swarm';
import { cluster, deployApp, makeWorld, type World } from './helpers/rectify-world';
import { appImage } from './helpers/sched-images';
import { startTestEngine, type TestEngine } from './helpers/test-engine';

jest.setTimeout(240_000);

const REPO = 'github.com/acme/chatty';
const ID = `swarm:${REPO}`;
let engine: TestEngine;
let w: World;

async function read(req: LogRequest, stopAfter?: number): Promise<LogLine[]> {
  const abort = new AbortController();
  const { lines } = deploymentLogs(w.sous, await w.gdm.read(), { id: { source: { repo: REPO, dir: '' }, flavor: '' }, cluster: 'swarm', ...req, signal: abort.signal });
  const out: LogLine[] = [];
  for await (const l of lines) {
    out.push(l);
    if (stopAfter && out.length >= stopAfter) abort.abort();
    if (abort.signal.aborted) break;
  }
  return out;
}

beforeAll(async () => {
  const chatty = appImage('chatty', 'sous-test-dt17/chatty');
  engine = await startTestEngine('dt17s', 38);
  engine.swarmInit();
  w = await makeWorld({ swarm: cluster('swarm', engine.address) }, [new SwarmSchedulerPlugin({ updateMonitorSeconds: 1, stopGraceSeconds: 2, settleMs: 500 })]);
  await deployApp(w, 'swarm', { repo: REPO, version: '1.0.0', app: chatty, instances: 2 });
  const r = await w.rectifier.run({ filters: { repo: REPO } });
  expect(r.outcomes.map((o) => o.status)).toEqual(['Active']);
  await new Promise((res) => setTimeout(res, 1500));
});

afterAll(async () => {
  if (engine) {
    const left = engine.docker(['service', 'ls', '-q', '--filter', `label=${LABELS.cluster}`], { allowFail: true }).split('\n').filter(Boolean);
    if (left.length) engine.docker(['service', 'rm', ...left], { allowFail: true });
    await engine.destroy();
  }
});

describe('sous logs on swarm', () => {
  let names: string[];

  it("reads every running task's output, each line named service.slot.task, with the engine's times", async () => {
    const lines = await read({});
    names = [...new Set(lines.map((l) => l.instance))].sort();
    const svc = serviceName(ID);
    expect(names).toHaveLength(2);
    expect(names.map((n) => n.replace(/\.[0-9a-z]{12}$/, ''))).toEqual([`${svc}.1`, `${svc}.2`]);
    for (const n of names) {
      const own = lines.filter((l) => l.instance === n);
      expect(own.find((l) => l.stream === 'stdout')?.text).toBe('app chatty started');
      expect(own.some((l) => l.stream === 'stderr' && /^tock \d+$/.test(l.text))).toBe(true);
      expect(own.every((l) => !Number.isNaN(Date.parse(l.time!)))).toBe(true);
    }
  });

  it('takes --tail and --instance (by name or the start of the task id), and refuses another', async () => {
    const tail = await read({ tail: 2 });
    for (const n of names) expect(tail.filter((l) => l.instance === n)).toHaveLength(2);
    const byName = await read({ instance: names[0], tail: 3 });
    expect(new Set(byName.map((l) => l.instance))).toEqual(new Set([names[0]]));
    const taskID = engine.docker(['service', 'ps', serviceName(ID), '-q', '--no-trunc', '--filter', 'desired-state=running']).split('\n').filter(Boolean).find((t) => names[1].endsWith(t.slice(0, 12)))!;
    const byId = await read({ instance: taskID.slice(0, 8), tail: 1 });
    expect(byId.map((l) => l.instance)).toEqual([names[1]]);
    await expect(read({ instance: 'nope-nope' })).rejects.toMatchObject({ code: 'INSTANCE_NOT_FOUND' });
  });

  it('follows both tasks as they write, until stopped', async () => {
    const t0 = Date.now();
    const lines = await read({ follow: true, tail: 0 }, 12);
    expect(lines).toHaveLength(12);
    expect(new Set(lines.map((l) => l.instance))).toEqual(new Set(names));
    expect(lines.every((l) => /^(tick|tock) \d+$/.test(l.text) && Date.parse(l.time!) >= t0 - 1000)).toBe(true);
  });
});
