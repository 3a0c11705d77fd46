/**
 * Who holds a RAID volume open: "pid@host" and, for a serving member, " <url of its /raid
 * endpoints>", recorded in the superblocks while it is open. `bulwark serve` refuses a volume a live
 * process holds (two writers would corrupt it), and `bulwark raid` sends its requests to the
 * member named there. Advisory, as a pid file is: it cannot see a process on another machine.
 */
import { hostname } from 'node:os';

export function volumeOwner(pid: number, url: string | null): string {
  return `${pid}@${hostname()}${url === null ? '' : ` ${url}`}`;
}

export interface OwnerInfo {
  readonly pid: number;
  readonly host: string;
  readonly url: string | null;
}

export function parseOwner(owner: string): OwnerInfo | null {
  const m = /^(\d+)@(\S+)(?: (\S+))?$/.exec(owner);
  if (m === null) return null;
  return { pid: Number(m[1]), host: m[2]!, url: m[3] ?? null };
}

/** The owner, if it is a live process on this host other than this one. */
export function liveOwner(owner: string): OwnerInfo | null {
  const o = parseOwner(owner);
  if (o === null || o.host !== hostname() || o.pid === process.pid) return null;
  try {
    process.kill(o.pid, 0);
    return o;
  } catch (e) {
    return (e as { code?: string }).code === 'EPERM' ? o : null;
  }
}
