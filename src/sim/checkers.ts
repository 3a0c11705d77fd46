/**
 * The simulator's safety checkers. They see the engines only through the contract: soft states
 * and applied entries from the driver's hooks, `status()`, and the entries the driver handed to
 * storage.
 *
 * - election safety: at most one leader per term;
 * - state-machine safety: every member applies the same entry at an index (the same term too for
 *   Raft-style logs; a Paxos slot's decided value may be re-chosen at a higher ballot by a leader
 *   that recovered it in phase 1, so there only the kind and data must agree);
 * - leader completeness: a new leader holds every entry known committed (Raft-style logs);
 * - log matching: two logs with the same entry at an index agree on every entry before it;
 * - committed durability: every committed entry is durable on a quorum (a log entry or a snapshot
 *   covering it), so no crash of a minority can lose it;
 * - storage durability: after a restart, recovery returned everything storage had acknowledged
 *   (unless it found damage and asked for repair) — reported by the node (src/sim/wal-storage.ts);
 * - (linearizability of the client history and liveness are checked by the simulation.)
 */
import { AssertionError } from '../core/assert.js';
import { crc32c } from '../core/crc32c.js';
import { errorMessage } from '../core/errors.js';
import type { NodeId } from '../core/ids.js';
import type { Entry, SoftState } from '../consensus/types.js';
import type { EventLoop } from './event-loop.js';
import type { NodeObserver, SimNode } from './node.js';
import { SimError } from './errors.js';
import { isStorageFailure } from './wal-storage.js';

export type CheckerName =
  | 'election-safety'
  | 'state-machine-safety'
  | 'leader-completeness'
  | 'log-matching'
  | 'committed-durability'
  | 'storage-durability'
  | 'linearizability'
  | 'liveness'
  | 'crash';

export interface Violation {
  readonly checker: CheckerName;
  readonly atMs: number;
  readonly message: string;
}

interface CommittedEntry {
  readonly term: number;
  readonly crc: number;
  readonly kind: Entry['kind'];
  readonly firstBy: NodeId;
}

const crcCache = new WeakMap<Entry, number>();
function entryCrc(e: Entry): number {
  let c = crcCache.get(e);
  if (c === undefined) {
    c = crc32c(e.data);
    crcCache.set(e, c);
  }
  return c;
}

/** Violations kept per checker; the first few say everything. */
const VIOLATIONS_PER_CHECKER_MAX = 5;

export class SafetyCheckers implements NodeObserver {
  readonly violations: Violation[] = [];
  private readonly leaders = new Map<number, NodeId>();
  private readonly committed = new Map<number, CommittedEntry>();
  private maxCommitted = 0;
  private pendingLeaderChecks: { node: SimNode; incarnation: number; term: number; upTo: number }[] = [];
  expectedFatal = 0;

  constructor(
    private readonly loop: EventLoop,
    private readonly nodes: readonly SimNode[],
    private readonly quorum: number,
  ) {}

  get committedCount(): number {
    return this.committed.size;
  }

  get highestCommitted(): number {
    return this.maxCommitted;
  }

  report(checker: CheckerName, message: string): void {
    if (this.violations.filter((v) => v.checker === checker).length >= VIOLATIONS_PER_CHECKER_MAX) return;
    this.violations.push({ checker, atMs: this.loop.nowMs, message });
    this.loop.trace(`violation ${checker}`);
  }

  onSoftState(node: SimNode, soft: SoftState): void {
    if (soft.role !== 'leader') return;
    const other = this.leaders.get(soft.term);
    if (other !== undefined && other !== node.id) {
      this.report('election-safety', `two leaders in term ${soft.term}: ${other} and ${node.id}`);
    }
    this.leaders.set(soft.term, node.id);
    if (!this.suffixLogs()) return;
    const st = node.status();
    if (st !== null && st.lastIndex < this.maxCommitted) {
      this.report('leader-completeness', `${node.id} became leader of term ${soft.term} with last index ${st.lastIndex}, but index ${this.maxCommitted} is committed`);
    }
    this.pendingLeaderChecks.push({ node, incarnation: node.incarnation, term: soft.term, upTo: this.maxCommitted });
  }

  onApply(node: SimNode, entry: Entry): void {
    const crc = entryCrc(entry);
    const seen = this.committed.get(entry.index);
    if (seen === undefined) {
      this.committed.set(entry.index, { term: entry.term, crc, kind: entry.kind, firstBy: node.id });
      if (entry.index > this.maxCommitted) this.maxCommitted = entry.index;
      return;
    }
    if ((this.suffixLogs() && seen.term !== entry.term) || seen.crc !== crc || seen.kind !== entry.kind) {
      this.report('state-machine-safety', `${node.id} applied index ${entry.index} as term ${entry.term} (${entry.kind}, crc ${crc.toString(16)}), but ${seen.firstBy} applied term ${seen.term} (${seen.kind}, crc ${seen.crc.toString(16)})`);
    }
  }

  onFatal(node: SimNode, error: unknown): void {
    if ((error instanceof SimError && error.code === 'sync-failed') || isStorageFailure(error)) {
      this.expectedFatal++;
      return;
    }
    const kind = error instanceof AssertionError ? 'assertion failed' : 'fatal error';
    this.report('crash', `${node.id}: ${kind}: ${errorMessage(error)}`);
  }

  onInjectedCrash(): void {}

  /** Runs after every event: entry-level leader completeness once the new leader's log is in storage. */
  afterEvent(): void {
    if (this.pendingLeaderChecks.length === 0) return;
    const checks = this.pendingLeaderChecks;
    this.pendingLeaderChecks = [];
    for (const c of checks) {
      if (!c.node.up || c.node.incarnation !== c.incarnation) continue;
      const snap = c.node.medium.latestSnapshot()?.meta.index ?? 0;
      for (let i = snap + 1; i <= c.upTo; i++) {
        const mine = c.node.logEntry(i);
        const want = this.committed.get(i);
        if (mine === null || want === undefined) continue;
        if (mine.term !== want.term || entryCrc(mine) !== want.crc) {
          this.report('leader-completeness', `leader ${c.node.id} of term ${c.term} holds term ${mine.term} at committed index ${i} (committed term ${want.term})`);
          break;
        }
      }
    }
  }

  private suffixLogs(): boolean {
    return this.nodes.some((n) => n.medium.replaceSuffix === true);
  }

  /** Log matching over every pair of members (Raft-style logs only). */
  checkLogMatching(): void {
    if (!this.suffixLogs()) return;
    for (let a = 0; a < this.nodes.length; a++) {
      for (let b = a + 1; b < this.nodes.length; b++) {
        const x = this.nodes[a]!;
        const y = this.nodes[b]!;
        const floor = Math.max(x.medium.latestSnapshot()?.meta.index ?? 0, y.medium.latestSnapshot()?.meta.index ?? 0);
        let matched = false;
        for (let i = Math.min(x.logLastIndex(), y.logLastIndex()); i > floor; i--) {
          const ex = x.logEntry(i);
          const ey = y.logEntry(i);
          if (ex === null || ey === null) continue;
          if (!matched) {
            matched = ex.term === ey.term;
            if (!matched) continue;
          }
          if (ex.term !== ey.term || entryCrc(ex) !== entryCrc(ey)) {
            this.report('log-matching', `${x.id} and ${y.id} agree on a later entry but differ at index ${i} (terms ${ex.term} and ${ey.term})`);
            return;
          }
        }
      }
    }
  }

  /**
   * Every committed entry is durable on a quorum: in the log with the same data (and term, for
   * Raft-style logs), or under a snapshot. A member whose storage lost the entry to damage and is
   * under repair (it may not vote until its log reaches past the entry again: Protocol-Aware
   * Recovery) still stands behind it; so does a Paxos acceptor whose durable hard state bars it
   * from phase 1 until it has caught up (a snapshot install that may have dropped accepted values).
   */
  checkCommittedDurability(): void {
    const termMatters = this.suffixLogs();
    for (const [index, want] of this.committed) {
      let holders = 0;
      for (const n of this.nodes) {
        const snap = n.medium.latestSnapshot()?.meta.index ?? 0;
        const e = n.medium.entry(index);
        if (index <= snap || (e !== null && (!termMatters || e.term === want.term) && entryCrc(e) === want.crc) || n.durableRepairPoint() >= index) holders++;
      }
      if (holders < this.quorum) {
        this.report('committed-durability', `committed index ${index} (term ${want.term}) is durable on ${holders} members, fewer than a quorum of ${this.quorum}`);
        return;
      }
    }
  }

  /** Members that applied the same prefix hold the same state. */
  checkConvergedState(): void {
    const byApplied = new Map<number, { node: SimNode; print: string }>();
    for (const n of this.nodes) {
      const sm = n.stateMachine;
      if (sm === null) continue;
      const print = sm.fingerprint();
      const other = byApplied.get(sm.appliedIndex);
      if (other !== undefined && other.print !== print) {
        this.report('state-machine-safety', `${other.node.id} and ${n.id} both applied up to ${sm.appliedIndex} but hold different data`);
      }
      byApplied.set(sm.appliedIndex, { node: n, print });
    }
  }
}
