/**
 * Which process dialed a TCP connection on this machine (Linux): the proxy sees the dialer's
 * address and port; /proc/net/tcp{,6} maps that socket to an inode, and /proc/PID/fd of the
 * candidate processes shows which one holds it. This is how one proxy in front of a member's peer
 * port tells its callers apart, so a partition can cut the link from m1 to m3 and not from m2.
 */
import { readdir, readFile, readlink } from 'node:fs/promises';
import { CHAOS_SOCKET_OWNER_TRIES } from '../core/limits.js';

/** The inode of the socket whose local port is `localPort` and remote port `remotePort`, from /proc/net/tcp text. */
export function findSocketInode(procNetTcp: string, localPort: number, remotePort: number): string | null {
  for (const line of procNetTcp.split('\n')) {
    const f = line.trim().split(/\s+/);
    // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
    if (f.length < 10 || !f[1]!.includes(':')) continue;
    const lp = parseInt(f[1]!.split(':')[1]!, 16);
    const rp = parseInt(f[2]!.split(':')[1]!, 16);
    if (lp === localPort && rp === remotePort && f[9] !== '0') return f[9]!;
  }
  return null;
}

async function socketInode(localPort: number, remotePort: number): Promise<string | null> {
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = await readFile(file, 'latin1');
    } catch {
      continue;
    }
    const inode = findSocketInode(text, localPort, remotePort);
    if (inode !== null) return inode;
  }
  return null;
}

async function holdsSocket(pid: number, inode: string): Promise<boolean> {
  let fds: string[];
  try {
    fds = await readdir(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  const want = `socket:[${inode}]`;
  for (const fd of fds) {
    try {
      if ((await readlink(`/proc/${pid}/fd/${fd}`)) === want) return true;
    } catch {
      // The descriptor closed while we looked.
    }
  }
  return false;
}

/**
 * The name of the candidate process holding the socket that dialed from `dialerPort` to
 * `listenPort`, or null (not one of them, or not Linux).
 */
export async function socketOwner(o: { readonly dialerPort: number; readonly listenPort: number; readonly candidates: ReadonlyMap<number, string> }): Promise<string | null> {
  for (let attempt = 0; attempt < CHAOS_SOCKET_OWNER_TRIES; attempt++) {
    const inode = await socketInode(o.dialerPort, o.listenPort);
    if (inode !== null) {
      for (const [pid, name] of o.candidates) if (await holdsSocket(pid, inode)) return name;
      return null;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  return null;
}
