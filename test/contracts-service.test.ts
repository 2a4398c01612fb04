/**
 * Standard contracts of an http-service, run by the plugin through a real
 * Sous against images built on the real engine.
 */
import type { BuiltImage } from '@sous/core';
import { REQUIRED_LABELS } from '@sous/plugin-contracts';
import { buildApp, contractContainers, engine, sousLabels } from './fixtures/contracts/images';
import { manifestWith, runContracts } from './fixtures/contracts/run';

const { docker } = engine();
let httpd: BuiltImage;
let scripted: BuiltImage;

beforeAll(async () => {
  httpd = await buildApp(docker, 'httpd');
  scripted = await buildApp(docker, 'scripted');
});

afterEach(async () => {
  // Whatever a contract did, its container is gone afterwards.
  expect(await contractContainers(docker, process.pid)).toEqual([]);
});

describe('http-service contracts', () => {
  it('pass for a service that answers, is ready, carries the labels and stops on SIGTERM', async () => {
    const { list, by } = await runContracts({ image: httpd });
    expect(list.map((r) => [r.name, r.status])).toEqual([
      ['image-labels', 'passed'],
      ['non-root-user', 'passed'],
      ['port-answers-http', 'passed'],
      ['readiness', 'passed'],
      ['stops-on-sigterm', 'passed'],
    ]);
    expect(by.readiness.expected).toBe('/health answers 2xx within 30s');
    expect(by.readiness.actual).toMatch(/^200 after /);
    expect(by['stops-on-sigterm'].actual).toMatch(/^exited with code 0 after /);
    expect(by['non-root-user'].actual).toBe('USER 65534');
  });

  it('use the readiness path of the manifest', async () => {
    const ok = await runContracts({ image: httpd, manifest: manifestWith('http-service', { CheckReadyURIPath: '/index.html' }) });
    expect(ok.by.readiness).toMatchObject({ status: 'passed', expected: '/index.html answers 2xx within 30s' });
    const missing = await runContracts({ image: httpd, manifest: manifestWith('http-service', { CheckReadyURIPath: '/nothing-here', Timeout: 1 }) });
    expect(missing.by.readiness).toMatchObject({ status: 'failed', code: 'NOT_READY', expected: '/nothing-here answers 2xx within 1s' });
    expect(missing.by.readiness.actual).toMatch(/^404 \(last of \d+ tries\)$/);
  });

  it('fail readiness when the path answers 500, with expected, actual and the container logs', async () => {
    const { by } = await runContracts({ image: scripted, manifest: manifestWith('http-service', { Timeout: 2 }, { HEALTH_STATUS: '500' }) });
    expect(by['port-answers-http'].status).toBe('passed');
    expect(by.readiness).toMatchObject({ status: 'failed', code: 'NOT_READY', expected: '/health answers 2xx within 2s' });
    expect(by.readiness.actual).toMatch(/^500 \(last of \d+ tries\)$/);
    expect(by.readiness.message).toMatch(/^NOT_READY: http:\/\/127\.0\.0\.1:\d+\/health never answered 2xx$/);
    expect(by.readiness.logs).toContain('scripted app starting (mode=serve)');
    expect(by['stops-on-sigterm'].status).toBe('passed');
  });

  it('fail at once on a status listed in CheckReadyFailureStatuses', async () => {
    const { by } = await runContracts({ image: scripted, manifest: manifestWith('http-service', { Timeout: 60, CheckReadyFailureStatuses: [503] }, { HEALTH_STATUS: '503' }) });
    expect(by.readiness).toMatchObject({ status: 'failed', code: 'NOT_READY', actual: '503 (a failure status in Startup.CheckReadyFailureStatuses)' });
  });

  it('fail with PORT_NEVER_OPENED when nothing listens', async () => {
    const { by } = await runContracts({ image: scripted, manifest: manifestWith('http-service', { Timeout: 1 }, { MODE: 'silent' }) });
    expect(by['port-answers-http']).toMatchObject({ status: 'failed', code: 'PORT_NEVER_OPENED' });
    expect(by['port-answers-http'].expected).toMatch(/^HTTP on PORT0 \(\d+\) within 1s$/);
    expect(by['port-answers-http'].actual).toMatch(/^no HTTP answer after \d+ tries/);
    expect(by.readiness).toMatchObject({ status: 'skipped', message: 'the port never answered' });
    expect(by['stops-on-sigterm'].status).toBe('passed');
  });

  it('fail with CONTAINER_EXITED, the exit code and the logs when the process dies at once', async () => {
    const { by } = await runContracts({ image: scripted, manifest: manifestWith('http-service', {}, { MODE: 'exit' }) });
    expect(by['port-answers-http']).toMatchObject({ status: 'failed', code: 'CONTAINER_EXITED', actual: 'exited with code 3' });
    expect(by['port-answers-http'].logs).toEqual(expect.arrayContaining(['fatal: DATABASE_URL is not set']));
    expect(by.readiness.status).toBe('skipped');
    expect(by['stops-on-sigterm']).toMatchObject({ status: 'skipped', message: 'the container had already exited' });
  });

  it('fail stops-on-sigterm when the process ignores SIGTERM beyond the grace period', async () => {
    const { by } = await runContracts({ image: scripted, manifest: manifestWith('http-service', {}, { MODE: 'ignore-term' }), config: { gracePeriod: 1 } });
    expect(by.readiness.status).toBe('passed');
    expect(by['stops-on-sigterm']).toMatchObject({ status: 'failed', code: 'STOP_TIMEOUT', expected: 'stops within 1s of SIGTERM, exit code 0 or 143' });
    expect(by['stops-on-sigterm'].actual).toMatch(/^still running after 1(\.\d)?s$/);
  });

  it('only warn when the image runs as root', async () => {
    const root = await buildApp(docker, 'httpd', { tag: 'sous-test/contracts-httpd-root:latest', buildArgs: { RUN_AS: 'root' } });
    const { list, by } = await runContracts({ image: root });
    expect(by['non-root-user']).toMatchObject({ status: 'warning', code: 'RUNS_AS_ROOT', actual: 'USER root' });
    expect(list.filter((r) => r.status === 'failed')).toEqual([]);
  });

  it('fail when the image lacks the labels every Sous image carries', async () => {
    const labels = sousLabels();
    delete labels['com.opentable.sous.revision'];
    delete labels['org.opencontainers.image.source'];
    const bare = await buildApp(docker, 'httpd', { tag: 'sous-test/contracts-httpd-nolabels:latest', labels });
    const { by } = await runContracts({ image: bare });
    expect(by['image-labels']).toMatchObject({ status: 'failed', code: 'MISSING_LABELS', actual: 'missing org.opencontainers.image.source, com.opentable.sous.revision' });
    expect(by['image-labels'].expected).toBe(`labels ${REQUIRED_LABELS.join(', ')}`);
    expect(by.readiness.status).toBe('passed');
  });

  it('stop with IMAGE_NOT_FOUND or IMAGE_PULL_FAILED when the image cannot be had, running nothing', async () => {
    const missing = { ...httpd, id: 'sha256:' + '0'.repeat(64) };
    await expect(runContracts({ image: missing })).rejects.toMatchObject({ code: 'IMAGE_NOT_FOUND', details: expect.objectContaining({ plugin: 'sous:contracts' }) });
    const unpullable = { ...httpd, id: '', name: '127.0.0.1:9/nowhere/app', digest: 'sha256:' + '1'.repeat(64) };
    await expect(runContracts({ image: unpullable })).rejects.toMatchObject({ code: 'IMAGE_PULL_FAILED' });
  });

  it('skip a standard contract the config disables', async () => {
    const { by } = await runContracts({ image: scripted, manifest: manifestWith('http-service', {}, { MODE: 'ignore-term' }), config: { disable: ['stops-on-sigterm'] } });
    expect(by['stops-on-sigterm']).toMatchObject({ status: 'skipped', message: 'disabled in the contracts config' });
    expect(by.readiness.status).toBe('passed');
  });
});
