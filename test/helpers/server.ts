/**
 * A real `sous server` child process on 127.0.0.1, with its own state and
 * tokens, for tests that drive the HTTP API or the CLI through it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { SOUS_BIN, sousEnv, sousSync, type SousEnv } from './sous';

export interface RunningServer {
  url: string;
  child: ChildProcess;
  tokens: { admin: string; deploy: string; read: string };
  /** Everything the server wrote to stderr so far. */
  log(): string;
  /** SIGTERM, then wait for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function makeToken(e: SousEnv, name: string, scope: 'read' | 'deploy' | 'admin', extra: Record<string, string> = {}): string {
  const r = sousSync(e, ['server', 'token', 'create', '--name', name, '--scope', scope], { env: extra });
  if (r.code !== 0) throw new Error(`token create failed: ${r.stderr}`);
  return r.stdout.trim();
}

export async function startServer(e: SousEnv, args: string[] = [], env: Record<string, string> = {}): Promise<RunningServer> {
  const tokens = { admin: makeToken(e, 'alice', 'admin', env), deploy: makeToken(e, 'ci', 'deploy', env), read: makeToken(e, 'viewer', 'read', env) };
  const listen = args.includes('--listen') ? [] : ['--listen', '127.0.0.1:0'];
  const child = spawn(process.execPath, [SOUS_BIN, 'server', ...listen, ...args], { env: sousEnv(e, env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdout!.resume();
  const url = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`the server did not start: ${stderr}`)), 30_000);
    const check = () => {
      const m = /listening on (https?:\/\/[0-9.]+:\d+)/.exec(stderr);
      if (m) {
        clearTimeout(t);
        resolve(m[1]);
      }
    };
    child.stderr!.on('data', check);
    child.on('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`the server exited (${code}): ${stderr}`));
    });
  });
  return {
    url,
    child,
    tokens,
    log: () => stderr,
    stop: (signal = 'SIGTERM') =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        child.once('exit', (code, sig) => resolve(code ?? (sig ? -1 : null)));
        child.kill(signal);
      }),
  };
}

/** fetch with a bearer token and JSON. */
export async function api(url: string, token: string | undefined, method: string, path: string, opts: { body?: unknown; headers?: Record<string, string> } = {}): Promise<{ status: number; body: any; headers: Headers }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (token) headers.authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (opts.body !== undefined) {
    headers['content-type'] = headers['content-type'] ?? 'application/json';
    body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
  }
  const res = await fetch(url + path, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

/**
 * An artifact record for a real image: a small image pushed to the test
 * registry, so deploy verification finds it by digest.
 */
export async function realArtifact(source: string, version: string, advisories: string[] = []): Promise<Record<string, unknown>> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { pushImage, randomLayer } = require('./registries') as typeof import('./registries');
  const registry = process.env.SOUS_TEST_REGISTRY ?? '127.0.0.1:5000';
  const repository = source.toLowerCase().replace(/,/g, '/');
  const img = await pushImage(registry, repository, [randomLayer(256)], { tag: version });
  return { Source: source, Version: version, Revision: 'b'.repeat(40), Image: `${registry}/${repository}`, Digest: img.digest, Advisories: advisories, Deployable: true };
}
