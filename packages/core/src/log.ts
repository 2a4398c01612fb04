/**
 * One logger for core, CLI and server: pino underneath, JSON lines when the
 * stream is not a terminal, short readable lines when it is. Secrets never
 * reach the stream: values under secret-looking keys, passwords in URLs,
 * bearer tokens, and every value registered with `markSecret` are replaced.
 */
import type { Logger } from './hooks/plugin';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

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
export const SECRET_KEYS = /(token|secret|password|passwd|^pass$|passphrase|authorization|privatekey|private_key|apikey|api_key|cookie|credential|hmac)/i;
export const REDACTED = '[redacted]';
/** Keys that name where a secret is (a variable, a helper program, a file), not the secret itself: `passwordEnv`, `credentialHelper`, `tokenFile`. */
const NAMES_A_SECRET = /(Env|Helper|File|Path)$/;

/** Whether a value under this key is a secret. */
export function isSecretKey(key: string): boolean {
  return SECRET_KEYS.test(key) && !NAMES_A_SECRET.test(key);
}

// Values shorter than this are not scrubbed from text: they would mangle ordinary words.
const MIN_SECRET_LENGTH = 4;
const secretValues = new Set<string>();
let secretPattern: RegExp | undefined;

/**
 * Registers a value that must never be logged, wherever it shows up (a
 * webhook secret in an error message, an environment value marked secret).
 */
export function markSecret(value: unknown): void {
  if (typeof value !== 'string' || value.length < MIN_SECRET_LENGTH || secretValues.has(value)) return;
  secretValues.add(value);
  secretPattern = undefined;
}

/** Marks every value under a secret-looking key, and every password in a URL, found in `obj`. */
export function markSecretsIn(obj: unknown, depth = 0): void {
  if (depth > 8 || obj === null || typeof obj !== 'object') return;
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
    if (typeof v === 'string') {
      if (isSecretKey(k)) markSecret(v);
      const pw = urlPassword(v);
      if (pw) markSecret(pw);
    } else markSecretsIn(v, depth + 1);
  }
}

/** Marks the values of environment variables whose names look secret (SOUS_TOKEN, SOUS_WEBHOOK_SECRET, ...). */
export function markEnvSecrets(env: Record<string, string | undefined> = process.env): void {
  for (const [k, v] of Object.entries(env)) if (v && isSecretKey(k)) markSecret(v);
}

function urlPassword(s: string): string | undefined {
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/\s:@]*:([^@/\s]+)@/.exec(s);
  if (!m) return undefined;
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return m[1];
  }
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Text with passwords in URLs, bearer/basic credentials and registered secrets replaced. */
export function redactText(s: string): string {
  let out = s
    .replace(/([A-Za-z][A-Za-z0-9+.-]*:\/\/[^/\s:@]*:)[^@/\s]+@/g, `$1${REDACTED}@`)
    .replace(/\bBearer\s+[A-Za-z0-9._~+/=-]{8,}/g, `Bearer ${REDACTED}`)
    .replace(/\bBasic\s+(?=[A-Za-z0-9+/]*[0-9+/=])[A-Za-z0-9+/]{8,}={0,2}/g, `Basic ${REDACTED}`);
  if (secretValues.size) {
    secretPattern ??= new RegExp([...secretValues].sort((a, b) => b.length - a.length).map(escapeRe).join('|'), 'g');
    out = out.replace(secretPattern, REDACTED);
  }
  return out;
}

function redactValue(v: unknown, depth: number): unknown {
  if (typeof v === 'string') return redactText(v);
  if (v instanceof Error) return redactValue(errorFields(v), depth);
  if (depth > 8 || v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x) => redactValue(x, depth + 1));
  return redactObject(v as Record<string, unknown>, depth + 1);
}

function redactObject(fields: Record<string, unknown>, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    out[k] = isSecretKey(k) && v !== null && v !== '' && typeof v !== 'boolean' ? REDACTED : redactValue(v, depth);
  }
  return out;
}

function errorFields(e: Error): Record<string, unknown> {
  const x = e as Error & { code?: unknown; hints?: unknown };
  return { type: e.name, message: e.message, ...(x.code !== undefined ? { code: x.code } : {}), ...(e.stack ? { stack: e.stack } : {}) };
}

/** A copy of `fields` fit for a log: secret keys replaced, secrets scrubbed from every string. */
export function redact(fields: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!fields) return fields;
  return redactObject(fields, 0);
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Where lines go (default stderr). */
  stream?: NodeJS.WritableStream;
  /** JSON lines (default: when the stream is not a terminal). */
  json?: boolean;
  bindings?: Record<string, unknown>;
}

type PinoLogger = import('pino').Logger;
type Level = Exclude<LogLevel, 'silent'>;

/** Renders one pino JSON line as a readable line for a terminal. */
export function prettyLine(line: string): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const { level, time: _time, msg, ...rest } = rec;
  // An error shows as its message: stacks stay in the JSON form.
  const show = (v: unknown) => (typeof v === 'string' ? v : v && typeof v === 'object' && 'stack' in v && 'message' in v ? String(v.message) : JSON.stringify(v));
  const extra = Object.entries(rest)
    .map(([k, v]) => `${k}=${show(v)}`)
    .join(' ');
  const prefix = level === 'info' || level === undefined ? '' : `${String(level).toUpperCase()}: `;
  return `${prefix}${String(msg ?? '')}${extra ? '  ' + extra : ''}\n`;
}

function wrap(p: PinoLogger): Logger {
  const at = (level: Level) => (msg: string, fields?: Record<string, unknown>) => {
    if (!p.isLevelEnabled(level)) return;
    p[level](redact(fields) ?? {}, redactText(msg));
  };
  return {
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (b) => wrap(p.child(redact(b) ?? {})),
  };
}

/**
 * The logger: pino writing JSON lines, or readable lines on a terminal.
 * pino is loaded on first use, so commands that never log never load it.
 */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const stream = opts.stream ?? process.stderr;
  const json = opts.json ?? !(stream as { isTTY?: boolean }).isTTY;
  markEnvSecrets();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pino = require('pino') as typeof import('pino');
  const dest = json ? stream : { write: (line: string) => stream.write(prettyLine(line)) };
  const p = pino(
    {
      level: opts.level ?? 'info',
      base: null,
      messageKey: 'msg',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    dest as import('pino').DestinationStream,
  );
  return wrap(opts.bindings ? p.child(redact(opts.bindings) ?? {}) : p);
}

/** The logger on a stream (stderr by default); kept under its first name. */
export const streamLogger = createLogger;

/** The level the CLI's flags ask for: --debug shows debug lines, -v info, otherwise warnings and errors. */
export function levelFor(flags: { debug?: boolean; verbose?: boolean }, fallback: LogLevel = 'warn'): LogLevel {
  return flags.debug ? 'debug' : flags.verbose ? 'info' : fallback;
}
