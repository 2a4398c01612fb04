import * as crypto from 'node:crypto';
import * as net from 'node:net';
import type Docker from 'dockerode';
import { containerLabels, track, untrack } from './cleanup';
import { demux, engineMessage, isUnreachable, lastLines, unreachable, type Engine, type EngineError } from './engine';

/** How the container ended, once it has. */
export interface Exit {
  code: number;
  /** Milliseconds after the start. */
  afterMs: number;
}

export interface ExecResult {
  exitCode?: number;
  output: string;
  timedOut: boolean;
  /** The program is not in the image (the runtime could not exec it). */
  notFound: boolean;
  durationMs: number;
}

export interface StartSpec {
  image: string;
  imageRef: string;
  env: Record<string, string>;
  cmd?: string[];
  ports: number[];
}

/** Free TCP ports on 127.0.0.1, as the kernel hands them out. */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const s = net.createServer();
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** Thrown when the engine refuses to start the container; the image is at fault, so it becomes a failed contract. */
export class StartFailed extends Error {}

/**
 * One container under test: named and labelled for contracts, tracked so an
 * interrupted process still removes it, always removed by `remove()`.
 */
export class ContractContainer {
  private exitInfo?: Exit;
  /** Resolves when the container stops (or is removed). */
  readonly exited: Promise<Exit>;
  private startedAt = 0;

  private constructor(
    readonly container: Docker.Container,
    readonly name: string,
  ) {
    let resolveExit!: (e: Exit) => void;
    this.exited = new Promise((r) => (resolveExit = r));
    this.resolveExit = resolveExit;
  }

  private resolveExit: (e: Exit) => void;

  get exit(): Exit | undefined {
    return this.exitInfo;
  }

  get id(): string {
    return this.container.id;
  }

  static async start(engine: Engine, spec: StartSpec): Promise<ContractContainer> {
    const { docker } = engine;
    const name = `sous-contracts-${crypto.randomBytes(5).toString('hex')}`;
    const exposed: Record<string, object> = {};
    const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
    for (const p of spec.ports) {
      exposed[`${p}/tcp`] = {};
      bindings[`${p}/tcp`] = [{ HostIp: '127.0.0.1', HostPort: String(p) }];
    }
    let container: Docker.Container;
    try {
      container = await docker.createContainer({
        name,
        Image: spec.image,
        Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
        ...(spec.cmd?.length ? { Cmd: spec.cmd } : {}),
        Labels: containerLabels(spec.imageRef),
        ExposedPorts: exposed,
        HostConfig: { PortBindings: bindings, AutoRemove: false },
      });
    } catch (e) {
      if (isUnreachable(e)) throw unreachable(engine, e);
      throw new StartFailed(`the engine refused to create the container: ${engineMessage(e)}`);
    }
    track(container.id, engine.host);
    const c = new ContractContainer(container, name);
    try {
      await container.start();
    } catch (e) {
      const msg = engineMessage(e);
      await c.remove();
      if (isUnreachable(e)) throw unreachable(engine, e);
      if (/port is already allocated|address already in use/i.test(msg)) throw Object.assign(new StartFailed(msg), { portClash: true });
      throw new StartFailed(`the engine could not start the container: ${msg}`);
    }
    c.startedAt = Date.now();
    c.watch();
    return c;
  }

  /** Waits for the stop in the background; a container that stopped before the wait began answers at once. */
  private watch(): void {
    const settle = (code: number) => {
      if (this.exitInfo) return;
      this.exitInfo = { code, afterMs: Date.now() - this.startedAt };
      this.resolveExit(this.exitInfo);
    };
    this.container.wait({ condition: 'not-running' }).then(
      (r: { StatusCode?: number }) => settle(r?.StatusCode ?? -1),
      () => settle(-1),
    );
  }

  sinceStartMs(): number {
    return Date.now() - this.startedAt;
  }

  /** The container's last log lines (stdout and stderr, in order). */
  async logs(n: number): Promise<string[]> {
    if (n <= 0) return [];
    try {
      const buf = (await this.container.logs({ stdout: true, stderr: true, tail: n, follow: false })) as unknown as Buffer;
      return lastLines(demux(Buffer.isBuffer(buf) ? buf : Buffer.from(String(buf))), n);
    } catch {
      return [];
    }
  }

  /** Runs argv in the container through exec: no shell is involved. */
  async exec(argv: string[], timeoutMs: number): Promise<ExecResult> {
    const t0 = Date.now();
    const ex = await this.container.exec({ Cmd: argv, AttachStdout: true, AttachStderr: true, Tty: false });
    const ac = new AbortController();
    const chunks: Buffer[] = [];
    const run = (async () => {
      const stream = (await ex.start({ hijack: true, stdin: false, abortSignal: ac.signal })) as NodeJS.ReadableStream & { destroy?: () => void };
      ac.signal.addEventListener('abort', () => stream.destroy?.());
      await new Promise<void>((resolve) => {
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', resolve);
        stream.on('close', resolve);
        stream.on('error', () => resolve());
      });
    })();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([run.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), timeoutMs)))]);
    clearTimeout(timer);
    if (timedOut) ac.abort();
    await run.catch(() => undefined);
    const output = demux(Buffer.concat(chunks));
    if (timedOut) return { output, timedOut: true, notFound: false, durationMs: Date.now() - t0 };
    let exitCode: number | undefined;
    for (let i = 0; i < 100; i++) {
      const info = await ex.inspect();
      if (!info.Running) {
        exitCode = info.ExitCode ?? undefined;
        break;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    const notFound = (exitCode === 126 || exitCode === 127) && /OCI runtime exec failed|exec failed/.test(output) && /no such file or directory|executable file not found|not found in \$PATH/i.test(output);
    return { exitCode, output, timedOut: false, notFound, durationMs: Date.now() - t0 };
  }

  /** Sends SIGTERM and waits up to `graceMs` for the container to stop. */
  async terminate(graceMs: number): Promise<{ exit?: Exit; waitedMs: number }> {
    const t0 = Date.now();
    if (this.exitInfo) return { exit: this.exitInfo, waitedMs: 0 };
    try {
      await this.container.kill({ signal: 'SIGTERM' });
    } catch (e) {
      // 409: it stopped meanwhile; the wait below reports how.
      if ((e as EngineError).statusCode !== 409) throw e;
    }
    let timer: NodeJS.Timeout | undefined;
    const exit = await Promise.race([this.exited, new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), graceMs)))]);
    clearTimeout(timer);
    return { exit, waitedMs: Date.now() - t0 };
  }

  /** Force-removes the container (killing it when it still runs). Never throws. */
  async remove(): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await this.container.remove({ force: true, v: true });
        break;
      } catch (e) {
        const status = (e as EngineError).statusCode;
        if (status === 404) break;
        if (isUnreachable(e) || attempt === 4) return;
        // 409: a removal is already in progress, or the engine is still stopping it.
        await new Promise((r) => setTimeout(r, 100 * (attempt + 1)));
      }
    }
    untrack(this.container.id);
  }
}
