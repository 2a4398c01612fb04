/**
 * A contract container never outlives its run: not when the process is
 * interrupted mid-contract (SIGINT, with or without its own handler), and a
 * container left by a killed process (SIGKILL) is removed by the next run.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import type { BuiltImage } from '@sous/core';
import { buildApp, contractContainers, engine } from './fixtures/contracts/images';
import { manifestWith, runContracts } from './fixtures/contracts/run';

const ROOT = path.resolve(__dirname, '..');
const SCRIPT = path.join(__dirname, 'fixtures/contracts/run-contracts.js');
const { docker } = engine();
let scripted: BuiltImage;
let httpd: BuiltImage;

beforeAll(async () => {
  if (!fs.existsSync(path.join(ROOT, 'packages/plugin-contracts/dist/index.js'))) throw new Error('plugin-contracts is not built: run `npm run build`');
  scripted = await buildApp(docker, 'scripted');
  httpd = await buildApp(docker, 'httpd');
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts a contract run that waits a minute for a port that never opens. */
function startRun(mode = ''): { child: ChildProcess; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> } {
  const manifest = manifestWith('http-service', { Timeout: 60 }, { MODE: 'silent' });
  const child = spawn(process.execPath, [SCRIPT, JSON.stringify(scripted), JSON.stringify(manifest), '{}', mode], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr })));
  return { child, exited };
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await fn();
    if (v !== undefined) return v;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

const running = (pid: number) => until('the contract container', async () => ((await contractContainers(docker, pid)).some((c) => c.State === 'running') ? true : undefined));
const gone = (pid: number) => until('the container to be removed', async () => ((await contractContainers(docker, pid)).length === 0 ? true : undefined));

describe('contract containers', () => {
  it('are removed when the process is interrupted mid-contract, and the process then ends by SIGINT', async () => {
    const { child, exited } = startRun();
    await running(child.pid!);
    child.kill('SIGINT');
    const r = await exited;
    expect(r.signal).toBe('SIGINT');
    await gone(child.pid!);
    expect(await contractContainers(docker, child.pid!)).toEqual([]);
  });

  it('are removed even when the process has its own SIGINT handler that exits at once', async () => {
    const { child, exited } = startRun('exit-on-sigint');
    await running(child.pid!);
    child.kill('SIGINT');
    expect((await exited).code).toBe(130);
    await gone(child.pid!);
    expect(await contractContainers(docker, child.pid!)).toEqual([]);
  });

  it('left by a killed process are removed by the next run on this host', async () => {
    const { child, exited } = startRun();
    await running(child.pid!);
    child.kill('SIGKILL');
    expect((await exited).signal).toBe('SIGKILL');
    expect(await contractContainers(docker, child.pid!)).toHaveLength(1);
    const { by } = await runContracts({ image: httpd });
    expect(by.readiness.status).toBe('passed');
    expect(await contractContainers(docker, child.pid!)).toEqual([]);
    expect(await contractContainers(docker, process.pid)).toEqual([]);
  });
});
