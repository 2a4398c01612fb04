import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';

/** Who holds a lease: enough to tell, on the same machine, that the holder has died. */
export interface HolderIdentity {
  holder: string;
  token: string;
  host: string;
  pid: string;
  boot: string;
}

let bootId: string | undefined;
function currentBoot(): string {
  if (bootId === undefined) {
    try {
      bootId = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      bootId = '';
    }
  }
  return bootId;
}

export function newHolder(holder: string): HolderIdentity {
  return { holder, token: crypto.randomBytes(12).toString('hex'), host: os.hostname(), pid: String(process.pid), boot: currentBoot() };
}

/**
 * True only when the holder certainly died: it ran on this machine since
 * this boot and its process is gone. A lease of a living or remote holder
 * runs out by its expiry instead.
 */
export function holderIsDead(h: Partial<HolderIdentity>): boolean {
  if (!h.host || h.host !== os.hostname() || !h.boot || h.boot !== currentBoot() || !h.pid) return false;
  const pid = Number(h.pid);
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Holder fields as labels under a prefix. */
export function holderLabels(prefix: string, h: HolderIdentity): Record<string, string> {
  return { [`${prefix}.holder`]: h.holder, [`${prefix}.token`]: h.token, [`${prefix}.host`]: h.host, [`${prefix}.pid`]: h.pid, [`${prefix}.boot`]: h.boot };
}

export function holderFromLabels(prefix: string, labels: Record<string, string> | undefined): Partial<HolderIdentity> {
  const l = labels ?? {};
  return { holder: l[`${prefix}.holder`], token: l[`${prefix}.token`], host: l[`${prefix}.host`], pid: l[`${prefix}.pid`], boot: l[`${prefix}.boot`] };
}
