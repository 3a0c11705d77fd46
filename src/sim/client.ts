/**
 * A simulated client: one operation at a time on a small keyspace, sent to the member it believes
 * leads (or a random one), with a timeout and retries. A write keeps its session (clientId, seq)
 * across retries, so the state machine applies it once. An operation that runs out of attempts is
 * left without a response in the history: it may or may not have happened.
 */
import type { NodeId } from '../core/ids.js';
import { SIM_CLIENT_ATTEMPTS_MAX } from '../core/limits.js';
import type { Random } from '../env/random.js';
import type { KvInput, KvOutput } from '../check/history.js';
import type { EventLoop, SimEventHandle } from './event-loop.js';
import type { HistoryRecorder } from './history-recorder.js';
import type { ClientRequest, ClientResponse, SimNode } from './node.js';
import { exponential } from './random-util.js';

export interface WorkloadMix {
  readonly get: number;
  readonly put: number;
  readonly delete: number;
  readonly cas: number;
}

export interface ClientParams {
  readonly keys: readonly string[];
  readonly mix: WorkloadMix;
  readonly requestTimeoutMs: number;
  readonly thinkMsMean: number;
  /** One-way delay between a client and a member: minimum plus exponential mean. */
  readonly delayMsMin: number;
  readonly delayMsMean: number;
  /** Chance a request or a reply is lost. */
  readonly lossRate: number;
}

interface Current {
  readonly opId: number;
  readonly input: KvInput;
  readonly seq: number;
  timeouts: number;
  tries: number;
  token: number;
  timer: SimEventHandle | null;
  readonly onDone: ((output: KvOutput | null) => void) | null;
}

/** Tries (redirects and retries included) per operation, beyond the timeouts. */
const TRIES_PER_TIMEOUT = 4;

export class SimClient {
  private seq = 0;
  private leader: NodeId | null = null;
  private current: Current | null = null;
  private running = false;
  private tokens = 0;
  private lastValue = new Map<string, string | null>();
  private valueSeq = 0;
  completed = 0;
  indeterminate = 0;

  constructor(
    readonly id: number,
    private readonly loop: EventLoop,
    private readonly random: Random,
    private readonly nodes: readonly SimNode[],
    private readonly recorder: HistoryRecorder,
    private params: ClientParams,
  ) {}

  start(): void {
    this.running = true;
    this.scheduleNext();
  }

  /** No new operations; the one in flight runs to its end. */
  stop(): void {
    this.running = false;
  }

  get busy(): boolean {
    return this.current !== null;
  }

  setParams(params: ClientParams): void {
    this.params = params;
  }

  /** Runs one given operation now (for the liveness probe); `onDone(null)` if it gave up. */
  runOne(input: KvInput, onDone: (output: KvOutput | null) => void): void {
    this.issue(input, onDone);
  }

  private scheduleNext(): void {
    if (!this.running) return;
    this.loop.schedule(exponential(this.random, this.params.thinkMsMean), `client ${this.id} think`, () => {
      if (this.running && this.current === null) this.issue(this.pickInput(), null);
    });
  }

  private pickInput(): KvInput {
    const { keys, mix } = this.params;
    const key = this.random.pick(keys);
    let r = this.random.float() * (mix.get + mix.put + mix.delete + mix.cas);
    if ((r -= mix.get) < 0) return { type: 'get', key };
    if ((r -= mix.put) < 0) return { type: 'put', key, value: this.freshValue() };
    if ((r -= mix.delete) < 0) return { type: 'delete', key };
    const seen = this.lastValue.get(key);
    return { type: 'cas', key, expected: seen === undefined ? null : seen, value: this.freshValue() };
  }

  private freshValue(): string {
    return `c${this.id}-${++this.valueSeq}`;
  }

  private issue(input: KvInput, onDone: ((output: KvOutput | null) => void) | null): void {
    const opId = this.recorder.invoke(this.id, input);
    const seq = input.type === 'get' ? 0 : ++this.seq;
    this.current = { opId, input, seq, timeouts: 0, tries: 0, token: 0, timer: null, onDone };
    this.attempt();
  }

  private attempt(): void {
    const c = this.current!;
    c.tries++;
    const token = (c.token = ++this.tokens);
    const target = this.nodes.find((n) => n.id === this.leader) ?? this.random.pick(this.nodes);
    const req: ClientRequest = c.input.type === 'get' ? { type: 'read', key: c.input.key } : { type: 'write', clientId: this.id, seq: c.seq, input: c.input };
    this.transmit(`client ${this.id}>${target.id.slice(-2)}`, () =>
      target.handle(req, (resp) => this.transmit(`reply ${target.id.slice(-2)}>client ${this.id}`, () => this.onResponse(c.opId, target.id, resp))),
    );
    c.timer = this.loop.schedule(this.params.requestTimeoutMs, `client ${this.id} timeout`, () => this.onTimeout(token));
  }

  private transmit(label: string, fn: () => void): void {
    if (this.random.chance(this.params.lossRate)) return;
    this.loop.schedule(this.params.delayMsMin + exponential(this.random, this.params.delayMsMean), label, fn);
  }

  private onResponse(opId: number, from: NodeId, resp: ClientResponse): void {
    const c = this.current;
    if (c === null || c.opId !== opId) return; // an answer to an operation already given up
    switch (resp.type) {
      case 'ok':
        this.finish(resp.output);
        return;
      case 'redirect':
        // A member that names itself or nobody sends us elsewhere at random.
        this.leader = resp.leader === from ? null : resp.leader;
        this.retrySoon();
        return;
      case 'retry':
        this.retrySoon();
        return;
    }
  }

  private onTimeout(token: number): void {
    const c = this.current;
    if (c === null || c.token !== token) return;
    c.timer = null;
    c.timeouts++;
    this.leader = null;
    if (c.timeouts >= SIM_CLIENT_ATTEMPTS_MAX) this.giveUp();
    else this.attempt();
  }

  private retrySoon(): void {
    const c = this.current!;
    c.timer?.cancel();
    c.timer = null;
    c.token = ++this.tokens; // a late timeout of the previous try is ignored
    if (c.tries >= SIM_CLIENT_ATTEMPTS_MAX * TRIES_PER_TIMEOUT) {
      this.giveUp();
      return;
    }
    const backoff = Math.min(this.params.requestTimeoutMs, 5 * 2 ** Math.min(c.tries, 6));
    const token = c.token;
    this.loop.schedule(exponential(this.random, backoff), `client ${this.id} backoff`, () => {
      if (this.current === c && c.token === token) this.attempt();
    });
  }

  private finish(output: KvOutput): void {
    const c = this.current!;
    c.timer?.cancel();
    this.recorder.complete(c.opId, output);
    this.completed++;
    const key = c.input.key;
    if (output.type === 'get') this.lastValue.set(key, output.value);
    else if (c.input.type === 'put') this.lastValue.set(key, c.input.value);
    else if (c.input.type === 'delete') this.lastValue.set(key, null);
    else if (c.input.type === 'cas' && output.type === 'cas' && output.ok) this.lastValue.set(key, c.input.value);
    this.current = null;
    c.onDone?.(output);
    this.scheduleNext();
  }

  private giveUp(): void {
    const c = this.current!;
    c.timer?.cancel();
    this.indeterminate++;
    this.current = null;
    this.loop.trace(`op ${c.opId} gave up`);
    c.onDone?.(null);
    this.scheduleNext();
  }
}
