import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';

export const CHILD = path.resolve(__dirname, '../fixtures/notify/child.js');
export const SOUS_BIN = path.resolve(__dirname, '../../packages/cli/bin/run.js');

/** A home for one test: operator config under cfg/, data (the outbox) under data/. */
export function tempHome(config: string): { dir: string; env: Record<string, string>; outbox: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sous-notify-it-'));
  fs.mkdirSync(path.join(dir, 'cfg/sous'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'cfg/sous/config.yaml'), config);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('SOUS_')) env[k] = v;
  Object.assign(env, { XDG_CONFIG_HOME: path.join(dir, 'cfg'), XDG_DATA_HOME: path.join(dir, 'data'), XDG_CACHE_HOME: path.join(dir, 'cache'), HOME: dir });
  return { dir, env, outbox: path.join(dir, 'data/sous/outbox'), cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export interface Run {
  pid: number;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill: (sig: NodeJS.Signals) => void;
}

export function run(args: string[], env: Record<string, string>): Run {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  return { pid: child.pid!, stdout: () => out, stderr: () => err, exited, kill: (s) => void child.kill(s) };
}

export interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A webhook receiver on 127.0.0.1 whose answer can change: a status, or 'hang' (never answers). */
export async function receiver(port = 0) {
  const got: Received[] = [];
  const hanging: http.ServerResponse[] = [];
  const state = { answer: 200 as number | 'hang' };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ headers: req.headers, body: Buffer.concat(chunks).toString() });
      if (state.answer === 'hang') hanging.push(res);
      else res.writeHead(state.answer).end(state.answer < 300 ? 'ok' : 'nope');
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    got,
    state,
    close: () =>
      new Promise<void>((r) => {
        for (const h of hanging) h.destroy();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** A port nothing listens on (for now). */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export async function until(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Files under every notifier's pending/ directory. */
export function pending(outbox: string): string[] {
  if (!fs.existsSync(outbox)) return [];
  return fs.readdirSync(outbox).flatMap((k) => {
    const p = path.join(outbox, k, 'pending');
    return fs.existsSync(p) ? fs.readdirSync(p) : [];
  });
}

export function requireBuilt(): void {
  for (const f of ['packages/core/dist/events/index.js', 'packages/plugin-notify-webhook/dist/index.js', 'packages/plugin-notify-email/dist/index.js', 'packages/cli/dist/commands/config.js']) {
    if (!fs.existsSync(path.resolve(__dirname, '../..', f))) throw new Error(`${f} is missing: run npm run build first`);
  }
}
