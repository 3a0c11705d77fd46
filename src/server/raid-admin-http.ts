/**
 * The live admin path of a member's RAID volume, on its client port (next to /metrics):
 *
 *   GET  /raid/status                                  the volume, its members, the running job
 *   POST /raid/fail?member=N|DIR                       take a member out (mdadm --fail)
 *   POST /raid/remove?member=N|DIR                     empty a failed member's slot (mdadm --remove)
 *   POST /raid/add?dir=DIR[&force=true]                a new member into an empty or failed slot;
 *                                                      its rebuild starts at once
 *   POST /raid/rebuild[?rate=BYTES_PER_SEC]            rebuild pending members (202: a job)
 *   POST /raid/scrub?mode=check|repair[&rate=...]      scrub (202: a job)
 *
 * `bulwark raid ... --endpoint URL` speaks it. Answers are JSON; errors are
 * `{"error":{"code":"...","message":"..."}}` with 400 (bad request), 403 (a change asked from
 * another host), 404 (no RAID volume on this member), 409 (the volume's state forbids it).
 *
 * Changes are accepted only from loopback addresses: replacing a disk is done on the machine that
 * holds it, and the client port may be reachable from anywhere.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isAbsolute } from 'node:path';
import { errorMessage } from '../core/errors.js';
import { isRaidError } from '../storage/index.js';
import type { HttpHandler } from './http-endpoints.js';
import type { RaidMonitor } from './raid-monitor.js';

export const RAID_ADMIN_PREFIX = '/raid';

class BadRequest extends Error {}

/** The handler for /raid/...; `monitor` is null when the member keeps its data in one directory. */
export function raidAdminHandler(monitor: RaidMonitor | null): HttpHandler {
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== RAID_ADMIN_PREFIX && !url.pathname.startsWith(`${RAID_ADMIN_PREFIX}/`)) return false;
    try {
      await route(monitor, req, res, url);
    } catch (e) {
      if (e instanceof BadRequest) sendError(res, 400, 'bad-request', e.message);
      else if (isRaidError(e)) sendError(res, e.code === 'volume-failed' ? 503 : 409, e.code, e.message);
      else sendError(res, 500, 'internal', errorMessage(e));
    }
    return true;
  };
}

async function route(monitor: RaidMonitor | null, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const op = url.pathname.slice(RAID_ADMIN_PREFIX.length + 1);
  const known = ['status', 'fail', 'remove', 'add', 'rebuild', 'scrub'];
  if (!known.includes(op)) return sendError(res, 404, 'not-found', `no such RAID operation: ${url.pathname} (${known.map((k) => `${RAID_ADMIN_PREFIX}/${k}`).join(', ')})`);
  const wanted = op === 'status' ? 'GET' : 'POST';
  if (req.method !== wanted && !(wanted === 'GET' && req.method === 'HEAD')) {
    res.setHeader('allow', wanted);
    return sendError(res, 405, 'method-not-allowed', `${url.pathname} takes ${wanted}`);
  }
  if (monitor === null) return sendError(res, 404, 'no-raid', 'this member keeps its data in one directory, not on a RAID volume (start it with --data-dir d1,d2,d3 --raid 5)');
  if (wanted === 'POST' && !isLoopback(req.socket.remoteAddress)) {
    return sendError(res, 403, 'forbidden', `RAID changes are accepted only from this machine (loopback), not from ${req.socket.remoteAddress ?? 'an unknown address'}`);
  }
  const q = url.searchParams;
  switch (op) {
    case 'status':
      return sendJson(res, 200, monitor.status());
    case 'fail': {
      const member = memberArg(monitor, q);
      await monitor.fail(member);
      return sendJson(res, 200, { member, status: monitor.status() });
    }
    case 'remove': {
      const member = memberArg(monitor, q);
      await monitor.remove(member);
      return sendJson(res, 200, { member, status: monitor.status() });
    }
    case 'add': {
      const dir = q.get('dir');
      if (dir === null || dir === '') throw new BadRequest('add needs dir=<absolute path of the new member directory>');
      if (!isAbsolute(dir)) throw new BadRequest(`dir must be an absolute path on the member's machine, got ${dir}`);
      const member = await monitor.add(dir, { force: boolArg(q, 'force') });
      return sendJson(res, 200, { member, status: monitor.status() });
    }
    case 'rebuild': {
      const job = monitor.startRebuild(rateArg(q));
      return sendJson(res, 202, { job, status: monitor.status() });
    }
    case 'scrub': {
      const mode = q.get('mode');
      if (mode !== 'check' && mode !== 'repair') throw new BadRequest(`scrub needs mode=check or mode=repair, got ${mode ?? 'none'}`);
      const job = monitor.startScrub(mode, rateArg(q));
      return sendJson(res, 202, { job, status: monitor.status() });
    }
  }
}

/** member=N (a slot) or member=/abs/dir (a member's directory). */
function memberArg(monitor: RaidMonitor, q: URLSearchParams): number {
  const v = q.get('member');
  if (v === null || v === '') throw new BadRequest('name the member: member=<slot number> or member=<its directory>');
  const members = monitor.status().members;
  if (/^\d+$/.test(v)) {
    const i = Number(v);
    if (i >= members.length) throw new BadRequest(`no member ${i}: the volume has ${members.length} slots (0 to ${members.length - 1})`);
    return i;
  }
  const i = members.findIndex((m) => m.name === v);
  if (i < 0) throw new BadRequest(`${v} is not a member of this volume (${members.map((m) => m.name ?? '-').join(', ')})`);
  return i;
}

function boolArg(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  if (v === null || v === '' || v === 'false' || v === '0') return false;
  if (v === 'true' || v === '1') return true;
  throw new BadRequest(`${name} must be true or false, got ${v}`);
}

function rateArg(q: URLSearchParams): { bytesPerSecMax?: number } {
  const v = q.get('rate');
  if (v === null || v === '') return {};
  if (!/^\d{1,15}$/.test(v) || Number(v) <= 0) throw new BadRequest(`rate is in bytes per second, a positive integer; got ${v}`);
  return { bytesPerSecMax: Number(v) };
}

export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const a = address.replace(/^::ffff:/, '');
  return a === '::1' || /^127\.\d+\.\d+\.\d+$/.test(a);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) + '\n';
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { error: { code, message } });
}
