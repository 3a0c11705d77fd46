/**
 * What a chaos run records: every client operation (invocation, completion, outcome), every fault
 * the nemesis injected, and the anomalies the checkers found. Operations follow Jepsen's outcomes:
 * ok (it happened), fail (it certainly did not), info (unknown: a timeout or a lost connection; a
 * write may or may not have taken effect, at any time after it was invoked).
 *
 * Times are milliseconds since the run began, from one monotonic clock, strictly increasing.
 */
export type Outcome = 'ok' | 'fail' | 'info';

export interface RecordedOp<I extends { readonly type: string } = { readonly type: string }, O = unknown> {
  /** Unique in the run, in invocation order. */
  readonly id: number;
  /**
   * The logical process (Jepsen's): a client whose operation ended in doubt gets a new process id,
   * since the old one may still be acting. `client` stays the worker, a row of the timeline.
   */
  readonly process: number;
  readonly client: number;
  /** The member the client sent it to. */
  readonly member: string;
  readonly input: I;
  readonly outcome: Outcome;
  /** Set exactly when the outcome is ok. */
  readonly output: O | null;
  readonly error: string | null;
  readonly callMs: number;
  /** When the client stopped waiting (for info, the deadline or the failure). */
  readonly returnMs: number;
}

export interface FaultRecord {
  readonly id: number;
  readonly kind: string;
  readonly description: string;
  /** The members it hit (all of them for a network-wide fault). */
  readonly members: readonly string[];
  readonly startMs: number;
  /** When it was healed; equal to startMs for instant faults (a leadership transfer). */
  readonly endMs: number;
  /** Set when the injection or the healing failed. */
  readonly error: string | null;
}

export interface Anomaly {
  /** Stable names, as docs/verification.md lists them: linearizability, lost-append, stale-read, ... */
  readonly type: string;
  readonly key: string | null;
  readonly message: string;
  /** The smallest set of operations that shows it. */
  readonly opIds: readonly number[];
  /** A text picture (the register checker's timeline), when there is one. */
  readonly detail: string | null;
}

/** A monotonic clock in ms since `start()`, strictly increasing between calls. */
export class RunClock {
  private readonly t0 = performance.now();
  private last = -1;

  now(): number {
    let t = performance.now() - this.t0;
    if (t <= this.last) t = this.last + 0.001;
    this.last = t;
    return t;
  }
}

/** Records operations for one run. Workloads call `invoke` and then exactly one of the handle's endings. */
export class Recorder {
  readonly ops: RecordedOp[] = [];
  private nextId = 0;
  private readonly processOf = new Map<number, number>();
  private readonly lastOutcomeOf = new Map<number, Outcome>();

  constructor(
    readonly clock: RunClock,
    private readonly clientCount: number,
  ) {}

  invoke<I extends { readonly type: string }, O>(client: number, member: string, input: I): OpHandle<I, O> {
    const id = this.nextId++;
    const process = this.processOf.get(client) ?? client;
    const callMs = this.clock.now();
    let done = false;
    const finish = (outcome: Outcome, output: O | null, error: string | null): RecordedOp<I, O> => {
      if (done) throw new Error(`operation ${id} ended twice`);
      done = true;
      const op: RecordedOp<I, O> = { id, process, client, member, input, outcome, output, error, callMs, returnMs: this.clock.now() };
      this.ops.push(op as RecordedOp);
      this.lastOutcomeOf.set(client, outcome);
      // A process whose operation is in doubt may still act: later operations get a new one.
      if (outcome === 'info') this.processOf.set(client, process + Math.max(1, this.clientCount));
      return op;
    };
    return {
      id,
      ok: (output) => finish('ok', output, null),
      fail: (error) => finish('fail', null, error),
      info: (error) => finish('info', null, error),
    };
  }

  /** How the client's last operation ended (undefined before its first). */
  lastOutcome(client: number): Outcome | undefined {
    return this.lastOutcomeOf.get(client);
  }

  /** Operations sorted by id (invocation order). */
  sorted(): RecordedOp[] {
    return [...this.ops].sort((a, b) => a.id - b.id);
  }
}

export interface OpHandle<I extends { readonly type: string }, O> {
  readonly id: number;
  ok(output: O): RecordedOp<I, O>;
  fail(error: string): RecordedOp<I, O>;
  info(error: string): RecordedOp<I, O>;
}

export function countOutcomes(ops: readonly RecordedOp[]): Map<string, { ok: number; fail: number; info: number }> {
  const out = new Map<string, { ok: number; fail: number; info: number }>();
  for (const op of ops) {
    let c = out.get(op.input.type);
    if (c === undefined) out.set(op.input.type, (c = { ok: 0, fail: 0, info: 0 }));
    c[op.outcome]++;
  }
  return out;
}
