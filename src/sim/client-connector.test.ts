import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nodeIdFromBigInt, type NodeId } from '../core/ids.js';
import { SeededRandom } from '../env/random.js';
import { GrpcError } from '../api/grpc/errors.js';
import { Status } from '../api/grpc/status.js';
import { KVService } from '../api/proto/generated/etcdserverpb.js';
import { SimConnector, simEndpoint } from './client-connector.js';
import { EventLoop } from './event-loop.js';
import type { ClientRequest, ClientResponse, SimNode } from './node.js';

/** A member stand-in: up or down, answering reads from a map. */
function member(id: NodeId, state: { up: boolean; seen: ClientRequest[] }): SimNode {
  return {
    id,
    get up() {
      return state.up;
    },
    status: () => (state.up ? { id, role: 'leader', term: 3, leader: id, commitIndex: 1, appliedIndex: 1, lastIndex: 1, firstIndex: 1, config: { voters: [id], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false }, progress: [] } : null),
    handle: (req: ClientRequest, reply: (r: ClientResponse) => void) => {
      state.seen.push(req);
      reply(req.type === 'read' ? { type: 'ok', output: { type: 'get', value: 'v' } } : { type: 'ok', output: { type: 'put' } });
    },
  } as unknown as SimNode;
}

async function settle<T>(loop: EventLoop, p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  const out = p.then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error }));
  await loop.run({ untilMs: 10_000, eventsMax: 1000 });
  return out;
}

function setup(): { loop: EventLoop; connector: SimConnector; state: { up: boolean; seen: ClientRequest[] }; endpoint: string } {
  const loop = new EventLoop();
  const id = nodeIdFromBigInt(1n);
  const state = { up: true, seen: [] as ClientRequest[] };
  const connector = new SimConnector({ loop, random: new SeededRandom(1), nodes: [member(id, state)], link: { delayMsMin: 1, delayMsMean: 1, lossRate: 0 } });
  return { loop, connector, state, endpoint: simEndpoint(id) };
}

test('a read reaches the member after the link delay and comes back as a RangeResponse', async () => {
  const { loop, connector, state, endpoint } = setup();
  const c = connector.connect(endpoint);
  const r = await settle(loop, c.call(KVService.Range, { key: new TextEncoder().encode('k') }, {}));
  assert.ok(r.ok);
  assert.equal(new TextDecoder().decode(r.value.kvs[0]!.value), 'v');
  assert.equal(r.value.header?.raftTerm, 3);
  assert.deepEqual(state.seen, [{ type: 'read', key: 'k' }]);
  assert.ok(loop.nowMs >= 2, 'a round trip takes two link delays');
});

test('a crashed member refuses: the client may retry even a write, it was never sent', async () => {
  const { loop, connector, state, endpoint } = setup();
  state.up = false;
  const c = connector.connect(endpoint);
  const r = await settle(loop, c.call(KVService.Put, { key: new TextEncoder().encode('k') }, { metadata: { 'bulwark-session': '1/1/1' } }));
  assert.ok(!r.ok && r.error instanceof GrpcError && r.error.status === Status.UNAVAILABLE);
  assert.equal(c.neverSent(r.error), true);
  assert.equal(c.neverSent(new GrpcError(Status.UNAVAILABLE, 'simulated connection lost')), false);
});

test('writes need a session; a Txn the simulator cannot express answers UNIMPLEMENTED; a cut link waits for the abort', async () => {
  const { loop, connector, state, endpoint } = setup();
  const c = connector.connect(endpoint);
  const untagged = await settle(loop, c.call(KVService.Put, { key: new TextEncoder().encode('k') }, {}));
  assert.ok(!untagged.ok && untagged.error instanceof GrpcError && untagged.error.status === Status.FAILED_PRECONDITION);
  const txn = await settle(loop, c.call(KVService.Txn, { compare: [], success: [] }, { metadata: { 'bulwark-session': '1/1/1' } }));
  assert.ok(!txn.ok && txn.error instanceof GrpcError && txn.error.status === Status.UNIMPLEMENTED);
  assert.equal(state.seen.length, 0, 'nothing reached the member');

  connector.setCut(nodeIdFromBigInt(1n), true);
  const abort = new AbortController();
  loop.schedule(500, 'abort', () => abort.abort());
  const cut = await settle(loop, c.call(KVService.Range, { key: new TextEncoder().encode('k') }, { signal: abort.signal }));
  assert.ok(!cut.ok && cut.error instanceof GrpcError && cut.error.status === Status.CANCELLED);
  assert.ok(loop.nowMs >= 500, 'no answer before the client gave up');
  assert.equal(state.seen.length, 0);
});
