/**
 * Alarms per member, in the replicated state (etcd's alarm store). NOSPACE puts the store in
 * maintenance mode: reads, deletes, compaction, lease revocation and alarm changes are accepted,
 * writes that add data are refused. CORRUPT refuses every key-value operation until disarmed.
 */
import type { NodeId } from '../core/ids.js';
import type { AlarmOp, AlarmType } from './command.js';

export interface AlarmMember {
  readonly member: NodeId;
  readonly alarm: AlarmType;
}

export class AlarmTable {
  /** Key: `${alarm}/${member}`; values sorted on read. */
  private readonly active = new Map<string, AlarmMember>();

  has(alarm: AlarmType): boolean {
    for (const a of this.active.values()) if (a.alarm === alarm) return true;
    return false;
  }

  get size(): number {
    return this.active.size;
  }

  /** Active alarms sorted by member, then type. */
  list(): AlarmMember[] {
    return [...this.active.values()].sort((a, b) => (a.member < b.member ? -1 : a.member > b.member ? 1 : a.alarm < b.alarm ? -1 : a.alarm > b.alarm ? 1 : 0));
  }

  /** Applies an alarm change; returns the alarms it changed (etcd answers with those). */
  apply(op: AlarmOp): AlarmMember[] {
    if (op.action === 'activate') {
      if (op.member === null) return [];
      const a: AlarmMember = { member: op.member, alarm: op.alarm };
      this.active.set(`${op.alarm}/${op.member}`, a);
      return [a];
    }
    const removed: AlarmMember[] = [];
    for (const [k, a] of this.active) {
      if (a.alarm === op.alarm && (op.member === null || a.member === op.member)) {
        this.active.delete(k);
        removed.push(a);
      }
    }
    return removed.sort((x, y) => (x.member < y.member ? -1 : x.member > y.member ? 1 : 0));
  }

  reset(alarms: readonly AlarmMember[]): void {
    this.active.clear();
    for (const a of alarms) this.active.set(`${a.alarm}/${a.member}`, a);
  }
}
