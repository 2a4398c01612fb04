import type { Logger } from './hooks/plugin';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
const LEVELS: Record<LogLevel, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: 100 };

/** A logger that drops everything: the default for a Sous made without one. */
export const nullLogger: Logger = {
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return nullLogger;
  },
};

/** Keys whose values are never written to a log. */
export const SECRET_KEYS = /(token|secret|password|passphrase|authorization|privatekey|private_key|apikey|api_key|cookie)/i;

export function redact(fields: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!fields) return fields;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (SECRET_KEYS.test(k)) out[k] = '[redacted]';
    else if (v && typeof v === 'object' && !Array.isArray(v)) out[k] = redact(v as Record<string, unknown>);
    else out[k] = v;
  }
  return out;
}

/**
 * A small stderr logger: readable lines on a terminal, JSON lines otherwise.
 */
export function streamLogger(opts: { level?: LogLevel; stream?: NodeJS.WritableStream; json?: boolean; bindings?: Record<string, unknown> } = {}): Logger {
  const stream = opts.stream ?? process.stderr;
  const min = LEVELS[opts.level ?? 'info'];
  const json = opts.json ?? !(stream as { isTTY?: boolean }).isTTY;
  const bindings = opts.bindings ?? {};
  const write = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (LEVELS[level] < min) return;
    const f = redact({ ...bindings, ...(fields ?? {}) }) ?? {};
    if (json) {
      stream.write(JSON.stringify({ level, time: new Date().toISOString(), msg, ...f }) + '\n');
    } else {
      const extra = Object.entries(f)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ');
      stream.write(`${level === 'info' ? '' : level.toUpperCase() + ': '}${msg}${extra ? '  ' + extra : ''}\n`);
    }
  };
  return {
    trace: (m, f) => write('trace', m, f),
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (b) => streamLogger({ ...opts, bindings: { ...bindings, ...b } }),
  };
}
