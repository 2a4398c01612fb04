import { CONTRACT_CODES } from './codes';
import type { ContractContainer } from './container';
import { describeError, request } from './http';
import { commandContractName, DEFAULTS, httpContractName, type CommandContract, type HttpContract } from './options';
import { secs, type Results } from './result';
import type { StartupSettings } from './startup';

function clip(s: string, n = 200): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > n ? one.slice(0, n - 1) + '…' : one;
}

/** One custom HTTP contract against the service's PORT0 (or the readiness port). */
export async function httpContract(c: HttpContract, port: number, st: StartupSettings, results: Results): Promise<void> {
  const name = httpContractName(c);
  const t0 = Date.now();
  const timeoutMs = Math.round((c.timeout ?? DEFAULTS.httpTimeout) * 1000);
  const statuses = c.status === undefined ? undefined : Array.isArray(c.status) ? c.status : [c.status];
  const wantStatus = statuses ? statuses.join(' or ') : '2xx';
  const expected = `${wantStatus}${c.bodyMatches ? `, body matching /${c.bodyMatches}/` : ''} within ${secs(timeoutMs)}`;
  let answer;
  try {
    answer = await request({ protocol: st.protocol, port, method: (c.method ?? 'GET').toUpperCase(), path: c.path, headers: c.headers, body: c.body, timeoutMs });
  } catch (e) {
    const timedOut = (e as NodeJS.ErrnoException).code === 'ETIMEDOUT';
    results.failed(name, timedOut ? CONTRACT_CODES.timeout : CONTRACT_CODES.httpError, {
      expected,
      actual: timedOut ? `no answer within ${secs(timeoutMs)}` : describeError(e),
      message: `${(c.method ?? 'GET').toUpperCase()} ${c.path} ${timedOut ? 'timed out' : 'failed'}`,
      since: t0,
    });
    return;
  }
  const statusOk = statuses ? statuses.includes(answer.status) : answer.status >= 200 && answer.status < 300;
  if (!statusOk) {
    results.failed(name, CONTRACT_CODES.httpStatus, { expected, actual: `${answer.status}${answer.body ? ` ${clip(answer.body, 120)}` : ''}`, message: `${c.path} answered ${answer.status}, not ${wantStatus}`, since: t0 });
    return;
  }
  if (c.bodyMatches && !new RegExp(c.bodyMatches).test(answer.body)) {
    results.failed(name, CONTRACT_CODES.httpBody, { expected, actual: `${answer.status}, body ${JSON.stringify(clip(answer.body))}`, message: `the body of ${c.path} does not match /${c.bodyMatches}/`, since: t0 });
    return;
  }
  results.passed(name, { expected, actual: `${answer.status}${c.bodyMatches ? ', body matches' : ''}`, since: t0 });
}

/** One command contract, run in the container through exec (argv, no shell). */
export async function commandContract(c: CommandContract, container: ContractContainer, results: Results): Promise<void> {
  const name = commandContractName(c);
  const t0 = Date.now();
  const timeoutMs = Math.round((c.timeout ?? DEFAULTS.commandTimeout) * 1000);
  const want = c.exitCode ?? 0;
  const expected = `exit code ${want}${c.outputMatches ? `, output matching /${c.outputMatches}/` : ''} within ${secs(timeoutMs)}`;
  let r;
  try {
    r = await container.exec(c.command, timeoutMs);
  } catch (e) {
    const exited = container.exit;
    results.failed(name, exited ? CONTRACT_CODES.containerExited : CONTRACT_CODES.commandExitCode, {
      expected,
      actual: exited ? `the container exited with code ${exited.code}` : clip((e as Error).message),
      message: `could not run ${JSON.stringify(c.command)}`,
      since: t0,
    });
    return;
  }
  if (r.timedOut) {
    results.failed(name, CONTRACT_CODES.timeout, { expected, actual: `still running after ${secs(timeoutMs)}`, message: `${JSON.stringify(c.command)} did not finish in time`, durationMs: r.durationMs });
    return;
  }
  if (r.notFound) {
    results.failed(name, CONTRACT_CODES.commandNotFound, {
      expected,
      actual: `${c.command[0]}: not found in the image`,
      message: `the image has no program ${JSON.stringify(c.command[0])} (commands run without a shell: give the program's path)`,
      durationMs: r.durationMs,
    });
    return;
  }
  if (r.exitCode !== want) {
    results.failed(name, CONTRACT_CODES.commandExitCode, { expected, actual: `exit code ${r.exitCode}${r.output.trim() ? `: ${clip(r.output)}` : ''}`, message: `${JSON.stringify(c.command)} exited with ${r.exitCode}`, durationMs: r.durationMs });
    return;
  }
  if (c.outputMatches && !new RegExp(c.outputMatches).test(r.output)) {
    results.failed(name, CONTRACT_CODES.commandOutput, { expected, actual: `output ${JSON.stringify(clip(r.output))}`, message: `the output does not match /${c.outputMatches}/`, durationMs: r.durationMs });
    return;
  }
  results.passed(name, { expected, actual: `exit code ${r.exitCode}`, durationMs: r.durationMs });
}
