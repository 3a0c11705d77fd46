// The committed-durability checker and the Paxos acceptor's own repair mark (simulator: paxos,
// storage-faults, seed 35): an acceptor whose snapshot install was cut short by a crash lost the
// values it had accepted past the snapshot, but its durable hard state bars it from phase 1 until it
// has caught up, so it still stands behind a decided value it lost, as a member under storage repair does.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { logIndex, nodeIdFromBigInt, term, type NodeId } from '../core/ids.js';
import type { Entry } from '../consensus/types.js';
import { encodePaxosHardState } from '../paxos/index.js';
import { SafetyCheckers } from './checkers.js';
import { engineFactory } from './engines.js';
import { EventLoop } from './event-loop.js';
import { MemoryMedium } from './memory-storage.js';
import type { SimNode } from './node.js';

const ids = [1n, 2n, 3n].map(nodeIdFromBigInt);
const decided: Entry = { index: logIndex(7), term: term(40), kind: 'normal', data: new TextEncoder().encode('v') };

function hardState(reportGapUntil: number): Uint8Array {
  return encodePaxosHardState({
    promised: { ballot: term(40), node: ids[0]! },
    commit: 5,
    repairUntil: 0,
    reportGapUntil,
    configs: [{ effectiveSlot: 1, config: { voters: ids, learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } }],
    configsValidFrom: 1,
  });
}

/** Just what the durability checker reads of a member. */
function member(id: NodeId, holds: boolean, hs: Uint8Array | null): SimNode {
  const medium = new MemoryMedium();
  medium.replaceSuffix = false;
  if (holds) medium.entries.set(decided.index, decided);
  medium.lastIndex = holds ? decided.index : 5;
  medium.hardState = hs;
  const factory = engineFactory('paxos');
  const fake = {
    id,
    medium,
    durableRepairPoint: () => Math.max(medium.repairUntil, hs === null ? 0 : factory.durableRepairPoint!(hs)),
  };
  return fake as unknown as SimNode;
}

function check(nodes: SimNode[]): string[] {
  const checkers = new SafetyCheckers(new EventLoop(), nodes, 2);
  checkers.onApply(nodes[0]!, decided);
  checkers.checkCommittedDurability();
  return checkers.violations.map((v) => `${v.checker}: ${v.message}`);
}

test('an acceptor barred from phase 1 through the slot stands behind the decided value it lost', () => {
  const nodes = [member(ids[0]!, true, hardState(0)), member(ids[1]!, false, hardState(9)), member(ids[2]!, false, hardState(0))];
  assert.deepEqual(check(nodes), []);
});

test('a decided value held by one member and vouched for by no other is reported', () => {
  // The mark stops below the slot: the member could answer phase 1 for it without the value.
  const nodes = [member(ids[0]!, true, hardState(0)), member(ids[1]!, false, hardState(6)), member(ids[2]!, false, null)];
  const found = check(nodes);
  assert.equal(found.length, 1, found.join('\n'));
  assert.match(found[0]!, /committed-durability: committed index 7 .* durable on 1 members/);
});
