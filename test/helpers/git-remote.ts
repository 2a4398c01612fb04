/**
 * A hosted git remote on 127.0.0.1: `git daemon` serving bare repositories
 * (fetch and push), each optionally with a post-receive hook that does what
 * GitHub does on a push: a signed `push` webhook (X-Hub-Signature-256) per
 * updated ref, and a `create` one per new tag, to a URL.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { freePort } from './registries';

const GIT_ENV = { GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0' };

export function gitIn(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=Test User', '-c', 'user.email=test@example.com', ...args], { cwd, encoding: 'utf8', env: { ...process.env, ...GIT_ENV }, stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** What the hook tells the server. */
export interface HookTarget {
  /** The server's webhook URL. */
  url: string;
  secret: string;
  /** The repository's web address, as GitHub's payload gives it (https://github.com/owner/name). */
  htmlUrl: string;
}

/** One delivery the hook made: what it sent and what it got back. */
export interface HookDelivery {
  event: string;
  delivery: string;
  ref: string;
  signature: string;
  body: string;
  status: number;
  answer: string;
}

export interface GitRemote {
  port: number;
  base: string;
  /** git://127.0.0.1:PORT/<name>.git */
  url(name: string): string;
  /** Makes a bare repository; with a target, pushes to it send webhooks there. */
  create(name: string, target?: HookTarget): string;
  /** The deliveries the hook of a repository made so far. */
  deliveries(name: string): HookDelivery[];
  stop(): Promise<void>;
  /** Starts the daemon again on the same port (after stop). */
  restart(): Promise<void>;
}

/** The post-receive hook: plain Node, run by git with the pushed refs on stdin. */
const HOOK_JS = `'use strict';
const fs = require('node:fs');
const crypto = require('node:crypto');
const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const zero = /^0+$/;
async function send(event, ref, payload) {
  const body = JSON.stringify(payload);
  const delivery = crypto.randomUUID();
  const signature = 'sha256=' + crypto.createHmac('sha256', cfg.secret).update(body).digest('hex');
  let status = 0, answer = '';
  try {
    const res = await fetch(cfg.url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-github-event': event, 'x-github-delivery': delivery, 'x-hub-signature-256': signature }, body });
    status = res.status;
    answer = await res.text();
  } catch (e) {
    answer = String(e);
  }
  fs.appendFileSync(cfg.log, JSON.stringify({ event, delivery, ref, signature, body, status, answer }) + '\\n');
  process.stdout.write('webhook ' + event + ' ' + ref + ': ' + status + '\\n');
}
(async () => {
  const repository = { full_name: cfg.fullName, html_url: cfg.htmlUrl, clone_url: cfg.cloneUrl, git_url: cfg.cloneUrl };
  for (const line of fs.readFileSync(0, 'utf8').split('\\n').filter(Boolean)) {
    const [before, after, ref] = line.split(' ');
    await send('push', ref, { ref, before, after, created: zero.test(before), deleted: zero.test(after), forced: false, repository, pusher: { name: 'git', email: null } });
    if (ref.startsWith('refs/tags/') && zero.test(before)) await send('create', ref, { ref: ref.slice(10), ref_type: 'tag', master_branch: 'main', repository });
  }
})();
`;

async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Starts `git daemon` on a free port, serving the bare repositories under `base`. */
export async function startGitRemote(base: string): Promise<GitRemote> {
  fs.mkdirSync(base, { recursive: true });
  const port = await freePort();
  let child: ChildProcess;
  const start = async () => {
    child = spawn('git', ['daemon', '--reuseaddr', '--export-all', '--enable=receive-pack', '--informative-errors', `--base-path=${base}`, '--listen=127.0.0.1', `--port=${port}`, base], {
      env: { ...process.env, ...GIT_ENV },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    for (let i = 0; !(await listening(port)); i++) {
      if (child.exitCode !== null || i > 100) throw new Error(`git daemon did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await start();
  const url = (name: string) => `git://127.0.0.1:${port}/${name}.git`;
  const hookLog = (name: string) => path.join(base, `${name}.hooks.jsonl`);
  return {
    port,
    base,
    url,
    create(name, target) {
      const dir = path.join(base, `${name}.git`);
      execFileSync('git', ['init', '-q', '--bare', '-b', 'main', dir], { env: { ...process.env, ...GIT_ENV } });
      if (target) {
        const cfg = path.join(base, `${name}.hook.json`);
        fs.writeFileSync(cfg, JSON.stringify({ ...target, fullName: name, cloneUrl: url(name), log: hookLog(name) }));
        fs.writeFileSync(path.join(base, `${name}.hook.js`), HOOK_JS);
        fs.writeFileSync(path.join(dir, 'hooks', 'post-receive'), `#!/bin/sh\nexec "${process.execPath}" "${path.join(base, `${name}.hook.js`)}" "${cfg}"\n`, { mode: 0o755 });
      }
      return dir;
    },
    deliveries(name) {
      if (!fs.existsSync(hookLog(name))) return [];
      return fs.readFileSync(hookLog(name), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as HookDelivery);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
    restart: start,
  };
}
