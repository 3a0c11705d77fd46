/**
 * Records the clients' history for the linearizability checker. Times are virtual milliseconds
 * with a sub-millisecond sequence added, so events at the same virtual instant keep the order in
 * which the simulation ran them (the checker would otherwise treat them as concurrent).
 */
import { assert } from '../core/assert.js';
import type { History, KvInput, KvOutput, Operation } from '../check/history.js';
import type { EventLoop } from './event-loop.js';

/** Sub-millisecond steps per virtual millisecond for ordering events at one instant. */
const STAMPS_PER_MS = 10_000;

interface MutableOp {
  id: number;
  clientId: number;
  input: KvInput;
  callTime: number;
  returnTime: number | null;
  output: KvOutput | null;
}

export class HistoryRecorder {
  private readonly ops: MutableOp[] = [];
  private lastMs = -1;
  private sub = 0;

  constructor(private readonly loop: EventLoop) {}

  private stamp(): number {
    const now = this.loop.nowMs;
    if (now === this.lastMs) this.sub++;
    else {
      this.lastMs = now;
      this.sub = 0;
    }
    assert(this.sub < STAMPS_PER_MS, 'too many history events in one virtual millisecond');
    return now + this.sub / STAMPS_PER_MS;
  }

  invoke(clientId: number, input: KvInput): number {
    const id = this.ops.length;
    this.ops.push({ id, clientId, input, callTime: this.stamp(), returnTime: null, output: null });
    return id;
  }

  complete(id: number, output: KvOutput): void {
    const op = this.ops[id];
    assert(op !== undefined && op.returnTime === null, `operation ${id} completes once`);
    assert(op.input.type === output.type, 'an operation is answered in kind');
    op.returnTime = this.stamp();
    op.output = output;
    this.loop.trace(`op ${id} ${JSON.stringify(output)}`);
  }

  get size(): number {
    return this.ops.length;
  }

  get completed(): number {
    return this.ops.filter((o) => o.returnTime !== null).length;
  }

  history(): History {
    return { operations: this.ops.map((o): Operation => ({ ...o })) };
  }
}
