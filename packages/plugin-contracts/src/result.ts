import type { ContractResult, ContractStatus } from '@sous/core';
import type { ContractCode } from './codes';

/** A contract's result, with the code of what went wrong (when something did). */
export interface ContractOutcome extends ContractResult {
  code?: ContractCode;
}

/** Collects results with their timings; `message` of a failure starts with its code. */
export class Results {
  readonly list: ContractOutcome[] = [];

  add(name: string, status: ContractStatus, fields: { expected?: string; actual?: string; message?: string; code?: ContractCode; durationMs?: number; since?: number }): ContractOutcome {
    const r: ContractOutcome = {
      name,
      status,
      ...(fields.expected !== undefined ? { expected: fields.expected } : {}),
      ...(fields.actual !== undefined ? { actual: fields.actual } : {}),
      ...(fields.code ? { code: fields.code } : {}),
      ...(fields.message !== undefined || fields.code ? { message: fields.code ? `${fields.code}: ${fields.message ?? ''}`.replace(/: $/, '') : fields.message } : {}),
      durationMs: fields.durationMs ?? (fields.since !== undefined ? Date.now() - fields.since : 0),
    };
    this.list.push(r);
    return r;
  }

  passed(name: string, fields: { expected?: string; actual?: string; message?: string; since?: number; durationMs?: number }): ContractOutcome {
    return this.add(name, 'passed', fields);
  }

  failed(name: string, code: ContractCode, fields: { expected?: string; actual?: string; message?: string; since?: number; durationMs?: number }): ContractOutcome {
    return this.add(name, 'failed', { ...fields, code });
  }

  skipped(name: string, why: string): ContractOutcome {
    return this.add(name, 'skipped', { message: why });
  }

  get anyFailed(): boolean {
    return this.list.some((r) => r.status === 'failed');
  }
}

/** A measured time for messages: 17ms, 1.2s, 30s. */
export function elapsed(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)}ms` : secs(ms);
}

/** Seconds for messages: 0.2s, 30s. */
export function secs(ms: number): string {
  const s = ms / 1000;
  return `${s >= 10 || Number.isInteger(s) ? Math.round(s) : s.toFixed(1)}s`;
}
