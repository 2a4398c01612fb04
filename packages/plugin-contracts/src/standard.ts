import type Docker from 'dockerode';
import { SOUS_LABELS } from '@sous/core';
import { CONTRACT_CODES } from './codes';
import type { ContractContainer } from './container';
import { poll, type HttpRequest } from './http';
import type { ResolvedContractsOptions, StandardContract } from './options';
import { elapsed, secs, type Results } from './result';
import type { StartupSettings } from './startup';

/** The labels every image Sous builds carries (core's own and the OCI ones). */
export const REQUIRED_LABELS: readonly string[] = [
  'org.opencontainers.image.source',
  'org.opencontainers.image.revision',
  'org.opencontainers.image.version',
  'org.opencontainers.image.created',
  ...Object.values(SOUS_LABELS),
];

const disabledMsg = 'disabled in the contracts config';

/** Contracts read from the image's configuration alone: labels and user. */
export function imageContracts(info: Docker.ImageInspectInfo, results: Results, disabled: ReadonlySet<StandardContract>): void {
  const t0 = Date.now();
  if (disabled.has('image-labels')) results.skipped('image-labels', disabledMsg);
  else {
    const labels = info.Config?.Labels ?? {};
    const missing = REQUIRED_LABELS.filter((l) => !(l in labels));
    if (missing.length) {
      results.failed('image-labels', CONTRACT_CODES.missingLabels, {
        expected: `labels ${REQUIRED_LABELS.join(', ')}`,
        actual: `missing ${missing.join(', ')}`,
        message: `the image lacks ${missing.length} of the labels deploys read back; build it with sous build`,
        since: t0,
      });
    } else results.passed('image-labels', { expected: `${REQUIRED_LABELS.length} required labels`, actual: 'all present', since: t0 });
  }
  if (disabled.has('non-root-user')) results.skipped('non-root-user', disabledMsg);
  else {
    const user = (info.Config?.User ?? '').trim();
    const name = user.split(':')[0];
    if (name === '' || name === 'root' || name === '0') {
      results.add('non-root-user', 'warning', {
        expected: 'a non-root USER',
        actual: user ? `USER ${user}` : 'no USER (root)',
        code: CONTRACT_CODES.runsAsRoot,
        message: 'the process runs as root; add a USER instruction to the Dockerfile',
        since: t0,
      });
    } else results.passed('non-root-user', { expected: 'a non-root USER', actual: `USER ${user}`, since: t0 });
  }
}

function exitedMessage(c: ContractContainer): string {
  return `the container exited with code ${c.exit?.code} ${elapsed(c.exit?.afterMs ?? 0)} after starting`;
}

/**
 * port-answers-http and readiness, from one polling loop: the first HTTP
 * answer of any status passes the first, the first 2xx on the readiness path
 * the second. The container stopping ends the loop at once. Resolves to
 * false when either of them failed.
 */
export async function startupContracts(c: ContractContainer, ports: number[], st: StartupSettings, opts: ResolvedContractsOptions, results: Results, needAnswer: boolean): Promise<boolean> {
  const portDisabled = opts.disable.has('port-answers-http');
  const readyDisabled = opts.disable.has('readiness');
  const skipCheckMsg = 'the deployment sets Startup.SkipCheck';
  if (portDisabled || st.skipCheck) results.skipped('port-answers-http', portDisabled ? disabledMsg : skipCheckMsg);
  if (readyDisabled || st.skipCheck) results.skipped('readiness', readyDisabled ? disabledMsg : skipCheckMsg);
  const checkPort = !portDisabled && !st.skipCheck;
  const checkReady = !readyDisabled && !st.skipCheck;
  if (!checkPort && !checkReady && !needAnswer) return true;

  const port = ports[st.portIndex];
  const deadline = Date.now() + st.connectDelayMs + st.timeoutMs;
  const t0 = Date.now();
  if (st.connectDelayMs) await Promise.race([new Promise((r) => setTimeout(r, st.connectDelayMs)), c.exited]);
  const req: HttpRequest = { protocol: st.protocol, port, path: st.path, timeoutMs: st.requestTimeoutMs };
  const base = { deadline, intervalMs: opts.pollIntervalMs, failureStatuses: checkReady ? st.failureStatuses : [], stop: () => c.exit !== undefined, wake: c.exited };
  const out = await poll(req, { ...base, until: checkReady ? 'ready' : 'answer' });
  const within = secs(st.connectDelayMs + st.timeoutMs);
  const where = `${st.protocol === 'HTTPS' ? 'https' : 'http'}://127.0.0.1:${port}${st.path}`;

  if (!out.answered) {
    if (c.exit) {
      const r = { expected: `HTTP on PORT${st.portIndex} within ${within}`, actual: `exited with code ${c.exit.code}`, message: exitedMessage(c), since: t0 };
      if (checkPort) results.failed('port-answers-http', CONTRACT_CODES.containerExited, r);
      else if (checkReady) results.failed('readiness', CONTRACT_CODES.containerExited, r);
      if (checkPort && checkReady) results.skipped('readiness', 'the container exited');
    } else {
      const r = {
        expected: `HTTP on PORT${st.portIndex} (${port}) within ${within}`,
        actual: `no HTTP answer after ${out.tries} tries (${out.lastError ?? 'nothing'})`,
        message: `nothing answered HTTP on ${where} within ${within}; does the process listen on $PORT0?`,
        since: t0,
      };
      if (checkPort) results.failed('port-answers-http', CONTRACT_CODES.portNeverOpened, r);
      else if (checkReady) results.failed('readiness', CONTRACT_CODES.portNeverOpened, r);
      if (checkPort && checkReady) results.skipped('readiness', 'the port never answered');
    }
    return !checkPort && !checkReady;
  }
  if (checkPort) results.passed('port-answers-http', { expected: `HTTP on PORT${st.portIndex} within ${within}`, actual: `answered after ${elapsed(st.connectDelayMs + (out.answeredAfterMs ?? 0))}`, durationMs: st.connectDelayMs + (out.answeredAfterMs ?? 0) });
  if (!checkReady) return true;
  const expected = `${st.path} answers 2xx within ${within}`;
  if (out.ready) {
    results.passed('readiness', { expected, actual: `${out.lastStatus} after ${elapsed(st.connectDelayMs + (out.readyAfterMs ?? 0))}`, durationMs: st.connectDelayMs + (out.readyAfterMs ?? 0) });
    return true;
  }
  if (c.exit && !out.failedFast) {
    results.failed('readiness', CONTRACT_CODES.containerExited, { expected, actual: `exited with code ${c.exit.code} (last answer ${out.lastStatus ?? out.lastError})`, message: exitedMessage(c), since: t0 });
    return false;
  }
  results.failed('readiness', CONTRACT_CODES.notReady, {
    expected,
    actual: out.failedFast ? `${out.lastStatus} (a failure status in Startup.CheckReadyFailureStatuses)` : `${out.lastStatus ?? out.lastError} (last of ${out.tries} tries)`,
    message: `${where} never answered 2xx`,
    since: t0,
  });
  return false;
}

/** stays-up: a worker must still run when the settle period ends. */
export async function staysUp(c: ContractContainer, opts: ResolvedContractsOptions, results: Results): Promise<boolean> {
  const t0 = Date.now();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([c.exited, new Promise((r) => (timer = setTimeout(r, opts.settlePeriodMs)))]);
  clearTimeout(timer);
  if (opts.disable.has('stays-up')) {
    results.skipped('stays-up', disabledMsg);
    return !c.exit;
  }
  const expected = `still running after ${secs(opts.settlePeriodMs)}`;
  if (c.exit) {
    results.failed('stays-up', CONTRACT_CODES.containerExited, { expected, actual: `exited with code ${c.exit.code} after ${elapsed(c.exit.afterMs)}`, message: exitedMessage(c), since: t0 });
    return false;
  }
  results.passed('stays-up', { expected, actual: 'running', since: t0 });
  return true;
}

/**
 * stops-on-sigterm: SIGTERM, then the grace period to stop. Exit code 0 or
 * 143 (killed by the signal) is clean; another code fails a worker and warns
 * for a service (it did stop in time).
 */
export async function stopsOnSigterm(c: ContractContainer, kind: string, opts: ResolvedContractsOptions, results: Results): Promise<void> {
  const name = 'stops-on-sigterm';
  if (opts.disable.has(name)) return void results.skipped(name, disabledMsg);
  if (c.exit) return void results.skipped(name, 'the container had already exited');
  const t0 = Date.now();
  const { exit, waitedMs } = await c.terminate(opts.gracePeriodMs);
  const expected = `stops within ${secs(opts.gracePeriodMs)} of SIGTERM, exit code 0 or 143`;
  if (!exit) {
    results.failed(name, CONTRACT_CODES.stopTimeout, {
      expected,
      actual: `still running after ${secs(waitedMs)}`,
      message: 'the process ignored SIGTERM; handle it (or run under an init such as tini), since schedulers kill it after the grace period',
      since: t0,
    });
    return;
  }
  const actual = `exited with code ${exit.code} after ${elapsed(waitedMs)}`;
  if (exit.code === 0 || exit.code === 143) return void results.passed(name, { expected, actual, since: t0 });
  if (kind === 'worker') results.failed(name, CONTRACT_CODES.uncleanExit, { expected, actual, message: 'the worker did not stop cleanly on SIGTERM', since: t0 });
  else results.add(name, 'warning', { expected, actual, code: CONTRACT_CODES.uncleanExit, message: 'stopped in time, but not cleanly', since: t0 });
}
