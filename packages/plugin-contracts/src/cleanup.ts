import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import type Docker from 'dockerode';

/** Labels on every contract container, so that strays can be found: `docker ps -a --filter label=dev.sous.contracts`. */
export const CONTRACT_LABELS = {
  marker: 'dev.sous.contracts',
  pid: 'dev.sous.contracts.pid',
  host: 'dev.sous.contracts.host',
  image: 'dev.sous.contracts.image',
  started: 'dev.sous.contracts.started',
} as const;

export function containerLabels(imageRef: string): Record<string, string> {
  return {
    [CONTRACT_LABELS.marker]: 'true',
    [CONTRACT_LABELS.pid]: String(process.pid),
    [CONTRACT_LABELS.host]: os.hostname(),
    [CONTRACT_LABELS.image]: imageRef,
    [CONTRACT_LABELS.started]: new Date().toISOString(),
  };
}

interface Live {
  id: string;
  host: string;
}

const live = new Map<string, Live>();
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
let installed = false;

/**
 * Removes the live containers in a detached process: it outlives this one,
 * so removal happens even when another handler exits the process at once.
 */
function spawnReaper(): ReturnType<typeof spawn> | undefined {
  if (live.size === 0) return undefined;
  const byHost = new Map<string, { host: string; ids: string[] }>();
  for (const l of live.values()) {
    const entry = byHost.get(l.host) ?? { host: l.host, ids: [] };
    entry.ids.push(l.id);
    byHost.set(l.host, entry);
  }
  live.clear();
  try {
    const child = spawn(process.execPath, [path.join(__dirname, 'reaper.js'), JSON.stringify([...byHost.values()])], { detached: true, stdio: 'ignore' });
    child.on('error', () => undefined);
    return child;
  } catch {
    return undefined;
  }
}

function onSignal(signal: NodeJS.Signals): void {
  const reaper = spawnReaper();
  uninstall();
  // Other listeners decide what the signal means; alone, we restore the default (terminate) once the containers are gone.
  if (process.listenerCount(signal) > 0) {
    reaper?.unref();
    return;
  }
  let done = false;
  const raise = () => {
    if (done) return;
    done = true;
    process.kill(process.pid, signal);
  };
  if (!reaper) return raise();
  reaper.once('exit', raise);
  reaper.once('error', raise);
  setTimeout(raise, 15_000).unref();
}

function onExit(): void {
  spawnReaper()?.unref();
}

const handlers = new Map<NodeJS.Signals, () => void>();

function install(): void {
  if (installed) return;
  installed = true;
  for (const s of SIGNALS) {
    const h = () => onSignal(s);
    handlers.set(s, h);
    process.once(s, h);
  }
  process.on('exit', onExit);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  for (const [s, h] of handlers) process.removeListener(s, h);
  handlers.clear();
  process.removeListener('exit', onExit);
}

/** Remembers a container until it is removed; an interrupted process removes it on the way out. */
export function track(id: string, host: string): void {
  live.set(id, { id, host });
  install();
}

export function untrack(id: string): void {
  live.delete(id);
  if (live.size === 0) uninstall();
}

/** Container ids this process still has to remove. */
export function liveContainers(): string[] {
  return [...live.keys()];
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes contract containers left behind by processes that are gone (killed
 * with SIGKILL, say): those started on this host by a process id that no
 * longer runs. With `all`, every contract container not tracked by this
 * process. Returns the ids removed.
 */
export async function removeStrayContainers(docker: Docker, opts: { all?: boolean } = {}): Promise<string[]> {
  const list = await docker.listContainers({ all: true, filters: { label: [CONTRACT_LABELS.marker] } });
  const host = os.hostname();
  const stray = list.filter((c) => {
    if (live.has(c.Id)) return false;
    if (opts.all) return true;
    const pid = Number(c.Labels?.[CONTRACT_LABELS.pid]);
    return c.Labels?.[CONTRACT_LABELS.host] === host && pid > 0 && pid !== process.pid && !pidAlive(pid);
  });
  const removed: string[] = [];
  await Promise.all(
    stray.map(async (c) => {
      try {
        await docker.getContainer(c.Id).remove({ force: true, v: true });
        removed.push(c.Id);
      } catch {
        // Gone already, or being removed by its owner.
      }
    }),
  );
  return removed;
}
