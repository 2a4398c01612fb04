/**
 * Worker contracts and the application's own contracts from the config
 * (HTTP checks and commands), against images built on the real engine.
 */
import type { BuiltImage } from '@sous/core';
import { buildApp, contractContainers, engine } from './fixtures/contracts/images';
import { manifestWith, runContracts } from './fixtures/contracts/run';

const { docker } = engine();
let scripted: BuiltImage;
let worker: BuiltImage;
let noshell: BuiltImage;

beforeAll(async () => {
  scripted = await buildApp(docker, 'scripted');
  worker = await buildApp(docker, 'worker');
  noshell = await buildApp(docker, 'noshell');
});

afterEach(async () => {
  expect(await contractContainers(docker, process.pid)).toEqual([]);
});

describe('worker contracts', () => {
  it('pass for a worker that stays up through the settle period and stops cleanly', async () => {
    const { list, by } = await runContracts({ image: worker, kind: 'worker', config: { settlePeriod: 0.5 } });
    expect(list.map((r) => [r.name, r.status])).toEqual([
      ['image-labels', 'passed'],
      ['non-root-user', 'passed'],
      ['stays-up', 'passed'],
      ['stops-on-sigterm', 'passed'],
    ]);
    expect(by['stays-up']).toMatchObject({ expected: 'still running after 0.5s', actual: 'running' });
    expect(by['stops-on-sigterm'].actual).toMatch(/^exited with code 0 after/);
  });

  it('fail stays-up with CONTAINER_EXITED and the logs when the worker dies while settling', async () => {
    const { by } = await runContracts({ image: worker, manifest: manifestWith('worker', {}, { WORKER_MODE: 'crash' }), config: { settlePeriod: 3 } });
    expect(by['stays-up']).toMatchObject({ status: 'failed', code: 'CONTAINER_EXITED' });
    expect(by['stays-up'].actual).toMatch(/^exited with code 2 after /);
    expect(by['stays-up'].logs).toEqual(['worker starting', 'worker: queue unreachable, giving up']);
    expect(by['stops-on-sigterm'].status).toBe('skipped');
  });
});

describe('custom contracts', () => {
  const http = [
    { name: 'hello with token', path: '/hello', headers: { 'X-Token': 'tea' }, status: 200, bodyMatches: '^hello, contracts \\(GET\\)$' },
    { name: 'hello refuses', path: '/hello', status: [401, 403] },
    { name: 'wrong token', path: '/hello', headers: { 'X-Token': 'coffee' } },
    { name: 'body mismatch', method: 'post', path: '/hello', headers: { 'X-Token': 'tea' }, bodyMatches: 'goodbye' },
    { name: 'too slow', path: '/slow', timeout: 0.5 },
  ];
  const commands = [
    { name: 'handler present', command: ['/bin/test', '-x', '/app/handler.sh'] },
    { name: 'false is 1', command: ['/bin/false'], exitCode: 1 },
    { name: 'echo output', command: ['/bin/echo', 'ready: yes'], outputMatches: 'ready: (yes|no)' },
    { name: 'wrong exit', command: ['/bin/sh', '-c', 'echo broken >&2; exit 4'] },
    { name: 'sleeps', command: ['/bin/sleep', '30'], timeout: 0.5 },
  ];

  it('check status, headers and body patterns over HTTP, and exit codes and output of commands', async () => {
    const { list, by } = await runContracts({ image: scripted, manifest: manifestWith('http-service', {}, { TOKEN: 'tea' }), config: { http, commands } });
    expect(by['http:hello with token']).toMatchObject({ status: 'passed', actual: '200, body matches' });
    expect(by['http:hello refuses']).toMatchObject({ status: 'passed', expected: '401 or 403 within 5s', actual: '401' });
    expect(by['http:wrong token']).toMatchObject({ status: 'failed', code: 'CONTRACT_HTTP_STATUS', expected: '2xx within 5s', actual: '401 no token' });
    expect(by['http:body mismatch']).toMatchObject({ status: 'failed', code: 'CONTRACT_HTTP_BODY', actual: '200, body "hello, contracts (POST)"' });
    expect(by['http:too slow']).toMatchObject({ status: 'failed', code: 'CONTRACT_TIMEOUT', actual: 'no answer within 0.5s' });
    expect(by['command:handler present']).toMatchObject({ status: 'passed', actual: 'exit code 0' });
    expect(by['command:false is 1']).toMatchObject({ status: 'passed', expected: 'exit code 1 within 10s' });
    expect(by['command:echo output'].status).toBe('passed');
    expect(by['command:wrong exit']).toMatchObject({ status: 'failed', code: 'CONTRACT_COMMAND_EXIT_CODE', actual: 'exit code 4: broken' });
    expect(by['command:sleeps']).toMatchObject({ status: 'failed', code: 'CONTRACT_TIMEOUT', actual: 'still running after 0.5s' });
    // Results come in the configured order, the stop last.
    expect(list.map((r) => r.name).slice(4)).toEqual([...http.map((h) => `http:${h.name}`), ...commands.map((c) => `command:${c.name}`), 'stops-on-sigterm']);
    expect(by['stops-on-sigterm'].status).toBe('passed');
  });

  it('report CONTRACT_COMMAND_NOT_FOUND for a program the image lacks, with no shell needed to run commands', async () => {
    const { by } = await runContracts({
      image: noshell,
      kind: 'worker',
      config: {
        settlePeriod: 0.2,
        // PID 1 is busybox sleep, which ignores SIGTERM: not what this test is about.
        disable: ['stops-on-sigterm'],
        commands: [
          { name: 'shell', command: ['/bin/sh', '-c', 'true'] },
          { name: 'busybox true', command: ['/bin/busybox', 'true'] },
        ],
      },
    });
    expect(by['command:shell']).toMatchObject({ status: 'failed', code: 'CONTRACT_COMMAND_NOT_FOUND', actual: '/bin/sh: not found in the image' });
    expect(by['command:busybox true']).toMatchObject({ status: 'passed', actual: 'exit code 0' });
    expect(by['stays-up'].status).toBe('passed');
  });

  it('report CONTAINER_START_FAILED when the engine cannot start the command', async () => {
    const manifest = { ...manifestWith('worker'), Deployments: { local: { Args: ['/bin/sh', '-c', 'sleep 60'], NumInstances: 1 } } } as never;
    const { by } = await runContracts({ image: noshell, manifest });
    expect(by['stays-up']).toMatchObject({ status: 'failed', code: 'CONTAINER_START_FAILED' });
    expect(by['stays-up'].actual).toMatch(/^the engine could not start the container: .*\/bin\/sh/);
    expect(by['stops-on-sigterm']).toMatchObject({ status: 'skipped', message: 'the container did not start' });
  });

  it('are skipped, not run, when the service never becomes ready', async () => {
    const { by } = await runContracts({ image: scripted, manifest: manifestWith('http-service', { Timeout: 1 }, { HEALTH_STATUS: '500' }), config: { http: [http[0]], commands: [commands[0]] } });
    expect(by.readiness.status).toBe('failed');
    expect(by['http:hello with token']).toMatchObject({ status: 'skipped', message: 'the service never became ready' });
    expect(by['command:handler present']).toMatchObject({ status: 'skipped', message: 'the service never became ready' });
  });
});
