/**
 * The failover client's Connector inside the simulator: a call to an endpoint becomes a request to
 * a simulated member (SimNode.handle), carried both ways with the simulator's delays on virtual
 * time, lost now and then, refused by a crashed member, and never answered across a cut link or by
 * a leader that lost its proposal. So the real client core (src/client: routing, retries, leader
 * tracking, exactly-once sessions) runs against real consensus engines, deterministically per seed.
 *
 * The members speak the simulator's small key-value language, so the connector translates the
 * slice of the etcd API that maps onto it: single-key Range (a linearizable read), Put and
 * DeleteRange, a compare-and-set Txn (value = X, or create revision = 0, then one put), Status
 * (role, term and leader from the engine) and Bulwark's Session Open/Close. Writes must carry a
 * session tag (the simulator's state machine dedupes by client id and seq); anything else answers
 * UNIMPLEMENTED, like a server without the method. Session ids come from a counter the connector
 * keeps for the whole cluster: the simulator's state machine creates a session on its first write,
 * so Open needs no log entry here (a real member's Open does propose one).
 */
import { assertNever } from '../core/assert.js';
import { nodeIdToBigInt, type NodeId } from '../core/ids.js';
import type { Random } from '../env/random.js';
import type { ClientDuplex, ClientReadable } from '../api/grpc/client.js';
import { GrpcError } from '../api/grpc/errors.js';
import { Metadata } from '../api/grpc/metadata.js';
import type { AnyMethod, RequestInitOf, ResponseOf } from '../api/grpc/method.js';
import { Status, type StatusCode } from '../api/grpc/status.js';
import type { CompareInit, DeleteRangeRequestInit, PutRequestInit, RangeRequestInit, ResponseHeader, TxnRequestInit } from '../api/proto/generated/etcdserverpb.js';
import type { Connection, ConnectionCallOptions, Connector } from '../client/connector.js';
import { parseSessionTag, SESSION_METADATA_KEY } from '../client/session-protocol.js';
import type { KvInput, KvOutput } from '../check/history.js';
import type { EventLoop } from './event-loop.js';
import type { ClientRequest, ClientResponse, SimNode } from './node.js';
import { exponential } from './random-util.js';

/** One-way delay and loss between a client and any member. */
export interface ClientLinkParams {
  readonly delayMsMin: number;
  readonly delayMsMean: number;
  /** Chance a request or a reply is lost: the connection drops, and the client cannot tell which. */
  readonly lossRate: number;
}

/**
 * A bug planted on purpose, to show the checks can fail: `fresh-seq-per-attempt` gives every
 * attempt of a write a new sequence number, as a client that re-tags its retries would, so a
 * retried write whose first attempt was applied applies again.
 */
export type ConnectorPlantedBug = 'fresh-seq-per-attempt';

/** The port every simulated member's endpoint carries (the host names the member). */
const SIM_CLIENT_PORT = 2379;
const CLUSTER_ID = 0x51n;
const EQUAL = 0;

/** The endpoint the connector gives member `id`: "m<id in hex>:2379". */
export function simEndpoint(id: NodeId): string {
  return `m${nodeIdToBigInt(id).toString(16)}:${SIM_CLIENT_PORT}`;
}

/** A status answered by the member itself: it carries trailers, as a real server's does. */
function fromMember(status: StatusCode, message: string): GrpcError {
  return new GrpcError(status, message, ['grpc-status', String(status), 'grpc-message', message]);
}

const text = (b: Uint8Array | undefined): string => new TextDecoder().decode(b ?? new Uint8Array(0));

/** What a call asks of a member, once translated. */
type Translated =
  | { readonly type: 'kv'; readonly request: ClientRequest; readonly answer: (output: KvOutput, header: ResponseHeader) => unknown }
  | { readonly type: 'status' }
  | { readonly type: 'session-open' }
  | { readonly type: 'session-close' };

export class SimConnector implements Connector {
  /** Calls made, by method path (for tests and reports). */
  readonly calls = new Map<string, number>();
  /** Requests and replies lost on the client links. */
  lost = 0;
  private readonly refused = new WeakSet<GrpcError>();
  private readonly cut = new Set<NodeId>();
  private nextSessionId = 1;
  private plantedSeq = 1_000_000;

  constructor(
    private readonly o: {
      readonly loop: EventLoop;
      readonly random: Random;
      readonly nodes: readonly SimNode[];
      readonly link: ClientLinkParams;
      readonly plantedBug?: ConnectorPlantedBug | null;
    },
  ) {}

  get endpoints(): string[] {
    return this.o.nodes.map((n) => simEndpoint(n.id));
  }

  /** Cuts (or restores) every client's link to a member: calls to it are never answered. */
  setCut(id: NodeId, cut: boolean): void {
    if (cut) this.cut.add(id);
    else this.cut.delete(id);
  }

  connect(endpoint: string): Connection {
    const node = this.o.nodes.find((n) => simEndpoint(n.id) === endpoint);
    if (node === undefined) throw new GrpcError(Status.INVALID_ARGUMENT, `no simulated member behind ${endpoint}`);
    return {
      endpoint,
      call: <M extends AnyMethod>(method: M, request: RequestInitOf<M>, options: ConnectionCallOptions) => this.unary(node, method.path, request, options) as Promise<ResponseOf<M>>,
      stream: <M extends AnyMethod>(method: M) => failedStream<ResponseOf<M>>(fromMember(Status.UNIMPLEMENTED, `simulated member: ${method.path} is not simulated`)),
      duplex: <M extends AnyMethod>(method: M) => failedStream<ResponseOf<M>>(fromMember(Status.UNIMPLEMENTED, `simulated member: ${method.path} is not simulated`)) as unknown as ClientDuplex<RequestInitOf<M>, ResponseOf<M>>,
      neverSent: (e: unknown) => e instanceof GrpcError && this.refused.has(e),
      close: () => {},
    };
  }

  private delay(): number {
    return this.o.link.delayMsMin + exponential(this.o.random, this.o.link.delayMsMean);
  }

  private unary(node: SimNode, path: string, request: unknown, options: ConnectionCallOptions): Promise<unknown> {
    this.calls.set(path, (this.calls.get(path) ?? 0) + 1);
    const loop = this.o.loop;
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (f: () => void): void => {
        if (settled) return;
        settled = true;
        f();
      };
      const signal = options.signal;
      if (signal !== undefined) {
        const onAbort = (): void => settle(() => reject(new GrpcError(Status.CANCELLED, 'cancelled by the client')));
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
      }
      let translated: Translated;
      try {
        translated = this.translate(path, request, options);
      } catch (e) {
        // A request the simulated members cannot express: refused before sending, as a server would answer.
        loop.schedule(0, `client call ${path} refused`, () => settle(() => reject(e)));
        return;
      }
      const lostOnTheWay = this.o.random.chance(this.o.link.lossRate);
      loop.schedule(this.delay(), `client>${node.id.slice(-2)} ${path}`, () => {
        if (settled) return;
        if (lostOnTheWay) {
          this.lost++;
          settle(() => reject(new GrpcError(Status.UNAVAILABLE, 'simulated connection lost')));
          return;
        }
        if (this.cut.has(node.id)) return; // a partitioned member: the call waits for the client's own timeout
        if (!node.up) {
          const e = new GrpcError(Status.UNAVAILABLE, `connect to ${simEndpoint(node.id)} failed: connection refused`);
          this.refused.add(e);
          settle(() => reject(e));
          return;
        }
        this.deliver(node, translated, (outcome) => {
          const lostBack = this.o.random.chance(this.o.link.lossRate);
          loop.schedule(this.delay(), `${node.id.slice(-2)}>client ${path}`, () => {
            if (settled) return;
            if (lostBack || this.cut.has(node.id)) {
              if (lostBack) this.lost++;
              settle(() => reject(new GrpcError(Status.UNAVAILABLE, 'simulated connection lost')));
              return;
            }
            settle(() => (outcome.ok ? resolve(outcome.value) : reject(outcome.error)));
          });
        });
      });
    });
  }

  private header(node: SimNode): ResponseHeader {
    return { clusterId: CLUSTER_ID, memberId: nodeIdToBigInt(node.id), revision: 0, raftTerm: node.status()?.term ?? 0 };
  }

  /** Hands the request to the member; `reply` runs when (and if) it answers. */
  private deliver(node: SimNode, t: Translated, reply: (o: { ok: true; value: unknown } | { ok: false; error: GrpcError }) => void): void {
    switch (t.type) {
      case 'status': {
        const s = node.status();
        if (s === null) return;
        reply({
          ok: true,
          value: { header: this.header(node), version: 'sim', dbSize: 0, leader: s.leader === null ? 0n : nodeIdToBigInt(s.leader), raftIndex: s.commitIndex, raftTerm: s.term, raftAppliedIndex: s.appliedIndex, errors: [], dbSizeInUse: 0, isLearner: false },
        });
        return;
      }
      case 'session-open':
        reply({ ok: true, value: { header: this.header(node), clientId: this.nextSessionId++ } });
        return;
      case 'session-close':
        reply({ ok: true, value: { header: this.header(node) } });
        return;
      case 'kv':
        node.handle(t.request, (r: ClientResponse) => {
          switch (r.type) {
            case 'ok':
              reply({ ok: true, value: t.answer(r.output, this.header(node)) });
              return;
            case 'redirect':
              reply({ ok: false, error: fromMember(Status.UNAVAILABLE, r.leader === null ? 'etcdserver: no leader' : 'etcdserver: not leader') });
              return;
            case 'retry':
              reply({ ok: false, error: fromMember(Status.UNAVAILABLE, 'raft proposal dropped') });
              return;
            default:
              assertNever(r, 'simulated member response');
          }
        });
        return;
      default:
        assertNever(t, 'translated call');
    }
  }

  private translate(path: string, request: unknown, options: ConnectionCallOptions): Translated {
    switch (path) {
      case '/etcdserverpb.Maintenance/Status':
        return { type: 'status' };
      case '/bulwark.v1.Session/Open':
        return { type: 'session-open' };
      case '/bulwark.v1.Session/Close':
        return { type: 'session-close' };
      case '/etcdserverpb.KV/Range': {
        const r = request as RangeRequestInit;
        if ((r.rangeEnd?.length ?? 0) > 0 || (r.revision ?? 0) > 0) throw fromMember(Status.UNIMPLEMENTED, 'simulated member: only single-key reads at the current revision');
        const key = text(r.key);
        return {
          type: 'kv',
          request: { type: 'read', key },
          answer: (out, header) => {
            const value = out.type === 'get' ? out.value : null;
            const kvs = value === null ? [] : [{ key: r.key ?? new Uint8Array(0), value: new TextEncoder().encode(value), createRevision: 1, modRevision: 1, version: 1, lease: 0n }];
            return { header, kvs: r.countOnly === true ? [] : kvs, more: false, count: kvs.length };
          },
        };
      }
      case '/etcdserverpb.KV/Put': {
        const r = request as PutRequestInit;
        return this.write(options, { type: 'put', key: text(r.key), value: text(r.value) }, (_out, header) => ({ header }));
      }
      case '/etcdserverpb.KV/DeleteRange': {
        const r = request as DeleteRangeRequestInit;
        if ((r.rangeEnd?.length ?? 0) > 0) throw fromMember(Status.UNIMPLEMENTED, 'simulated member: only single-key deletes');
        return this.write(options, { type: 'delete', key: text(r.key) }, (out, header) => ({ header, deleted: out.type === 'delete' && out.deleted ? 1 : 0, prevKvs: [] }));
      }
      case '/etcdserverpb.KV/Txn':
        return this.compareAndSet(request as TxnRequestInit, options);
      default:
        throw fromMember(Status.UNIMPLEMENTED, `simulated member: ${path} is not simulated`);
    }
  }

  /** A Txn of the one shape the simulated state machine has: compare one key's value (or its absence), then put it. */
  private compareAndSet(t: TxnRequestInit, options: ConnectionCallOptions): Translated {
    const compares = t.compare ?? [];
    const success = t.success ?? [];
    const put = success[0]?.request;
    const c: CompareInit | undefined = compares[0];
    if (compares.length !== 1 || success.length !== 1 || (t.failure ?? []).length > 0 || put?.type !== 'requestPut' || c === undefined || (c.result ?? EQUAL) !== EQUAL) {
      throw fromMember(Status.UNIMPLEMENTED, 'simulated member: only a compare-and-set Txn (one compare, one put)');
    }
    const key = text(c.key);
    if (text(put.value.key) !== key) throw fromMember(Status.UNIMPLEMENTED, 'simulated member: the put must be on the compared key');
    const u = c.targetUnion;
    let expected: string | null;
    if (u?.type === 'value') expected = text(u.value);
    else if ((u?.type === 'createRevision' || u?.type === 'version') && u.value === 0) expected = null;
    else throw fromMember(Status.UNIMPLEMENTED, 'simulated member: compare a value, or a create revision or version of 0');
    return this.write(options, { type: 'cas', key, expected, value: text(put.value.value) }, (out, header) => {
      const ok = out.type === 'cas' && out.ok;
      return { header, succeeded: ok, responses: ok ? [{ response: { type: 'responsePut', value: { header } } }] : [] };
    });
  }

  private write(options: ConnectionCallOptions, input: Exclude<KvInput, { type: 'get' }>, answer: (out: KvOutput, header: ResponseHeader) => unknown): Translated {
    const tagText = options.metadata?.[SESSION_METADATA_KEY];
    const tag = typeof tagText === 'string' ? parseSessionTag(tagText) : null;
    if (tag === null) throw fromMember(Status.FAILED_PRECONDITION, 'simulated member: writes need a client session (exactlyOnce: require)');
    const seq = this.o.plantedBug === 'fresh-seq-per-attempt' ? ++this.plantedSeq : tag.seq;
    return { type: 'kv', request: { type: 'write', clientId: tag.clientId, seq, input }, answer };
  }
}

/** A stream that fails at once with `error`. */
function failedStream<Res>(error: GrpcError): ClientDuplex<unknown, Res> & ClientReadable<Res> {
  return {
    headers: Promise.resolve(new Metadata([])),
    cancel: () => {},
    end: () => {},
    write: () => Promise.reject(error),
    [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(error) }),
  };
}
