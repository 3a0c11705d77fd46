/**
 * etcdserverpb.Maintenance: alarms, status, hashes, defragment, snapshot, move-leader.
 *
 * Defragment: the store keeps its data in memory, so there is no file to rewrite; it finishes any
 * pending physical compaction at once, which is what an operator runs defrag for (reclaiming the
 * space compaction freed).
 */
import { createHash } from 'node:crypto';
import { nodeIdToBigInt, type NodeId } from '../../core/ids.js';
import { GrpcError, Status, type GrpcServer } from '../../api/grpc/index.js';
import { AlarmType, MaintenanceService, type AlarmMemberInit } from '../../api/proto/generated/etcdserverpb.js';
import type { AlarmMember } from '../../kv/alarms.js';
import { BBOLT_PAGE_BYTES, ETCD_SNAPSHOT_CHUNK_BYTES } from '../../core/limits.js';
import { etcdBoltImage } from '../etcd-snapshot.js';
import { ETCD_COMPAT_VERSION } from '../../version.js';
import { ServerError } from '../errors.js';
import { memberIdArg, type MemberAdmin } from '../member-admin.js';
import type { ServiceContext } from './context.js';

function alarmsToPb(list: readonly AlarmMember[]): AlarmMemberInit[] {
  return list.map((a) => ({ memberID: nodeIdToBigInt(a.member), alarm: a.alarm === 'nospace' ? AlarmType.NOSPACE : AlarmType.CORRUPT }));
}

export function alarmStrings(list: readonly AlarmMember[]): string[] {
  return list.map((a) => `memberID:${BigInt('0x' + a.member).toString()} alarm:${a.alarm.toUpperCase()} `);
}

export function registerMaintenance(server: GrpcServer, ctx: ServiceContext, admin: MemberAdmin): void {
  const m = ctx.member;
  server.handle(MaintenanceService.Alarm, async (req, call) => {
    const alarm = req.alarm === AlarmType.NOSPACE ? 'nospace' : req.alarm === AlarmType.CORRUPT ? 'corrupt' : null;
    if (req.action !== 0) {
      if (alarm === null) throw new ServerError('invalid-argument', `alarm type ${req.alarm}`);
      const member: NodeId | null = req.memberID === 0n ? null : memberIdArg(req.memberID);
      if (req.action === 1 && member === null) throw new ServerError('invalid-argument', 'activating an alarm needs a member id');
      await ctx.write({ type: 'alarm', action: req.action === 1 ? 'activate' : 'deactivate', member, alarm }, call);
      return { alarms: alarmsToPb(m.kv.alarmList()) };
    }
    // etcd's Alarm and Defragment responses carry no header.
    await ctx.read(false, call);
    return { alarms: alarmsToPb(m.kv.alarmList()) };
  });
  server.handle(MaintenanceService.Status, async () => {
    const st = m.status();
    const kv = m.kv.status();
    return {
      header: ctx.header(),
      version: ETCD_COMPAT_VERSION,
      dbSize: kv.sizeBytes,
      dbSizeInUse: kv.sizeBytes,
      leader: st.leader === null ? 0n : nodeIdToBigInt(st.leader),
      raftIndex: st.commitIndex,
      raftTerm: st.term,
      raftAppliedIndex: st.appliedIndex,
      errors: [...alarmStrings(kv.alarms), ...m.storageDamageErrors(), ...ctx.storageErrors()],
      isLearner: m.isLearner,
      dbSizeQuota: kv.quotaBytes,
    };
  });
  server.handle(MaintenanceService.Defragment, async () => {
    m.kv.compactFully();
    return {};
  });
  server.handle(MaintenanceService.Hash, async () => ({ header: ctx.header(), hash: m.kv.stateHash() }));
  server.handle(MaintenanceService.HashKV, async (req) => {
    const h = m.kv.hashKv(req.revision);
    return { header: ctx.header(), hash: h.hash, compactRevision: h.compactRevision, hashRevision: h.hashRevision };
  });
  server.handle(MaintenanceService.MoveLeader, async (req, call) => {
    await admin.run({ op: 'move-leader', to: memberIdArg(req.targetID) }, ctx.timeoutMs(call));
    return { header: ctx.header() };
  });
  server.handle(MaintenanceService.Snapshot, async (_req, call) => {
    // etcd's format: the backend as a bbolt file in 32 KiB messages (remaining_bytes counts the
    // file still to come), then one message with the SHA-256 of the file, which
    // `etcdctl snapshot restore` checks. Like etcd's, these messages carry no header.
    const db = etcdBoltImage(m.kv.snapshotImage(), { pageSize: BBOLT_PAGE_BYTES });
    const sha = createHash('sha256');
    let sent = 0;
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    const flush = async (): Promise<void> => {
      const blob = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
      pending = [];
      pendingBytes = 0;
      sha.update(blob);
      sent += blob.length;
      await call.write({ remainingBytes: db.sizeBytes - sent, blob });
    };
    for (const page of db.pages()) {
      for (let off = 0; off < page.length; ) {
        const take = Math.min(page.length - off, ETCD_SNAPSHOT_CHUNK_BYTES - pendingBytes);
        pending.push(page.subarray(off, off + take));
        pendingBytes += take;
        off += take;
        if (pendingBytes === ETCD_SNAPSHOT_CHUNK_BYTES) await flush();
      }
    }
    if (pendingBytes > 0) await flush();
    await call.write({ remainingBytes: 0, blob: new Uint8Array(sha.digest()) });
  });
  server.handle(MaintenanceService.Downgrade, async () => {
    throw new GrpcError(Status.UNIMPLEMENTED, 'bulwark: downgrade is not supported');
  });
}
