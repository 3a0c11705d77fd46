/**
 * The Raft campaigns' counterpart against a Multi-Paxos cluster (`bulwark chaos --consensus
 * paxos`): one workload, one fault kind, a few seconds. Kills take the leader out too, so the
 * cluster must elect a new one by ballot and recover its open slots while clients keep writing.
 */
import { test } from 'node:test';
import { assertCleanRun, bulwarkMissing, shortCampaign } from './harness.js';

test('Bulwark on Multi-Paxos, register: kill -9', { skip: bulwarkMissing, timeout: 150_000 }, async () => {
  const faults = ['kill'] as const;
  assertCleanRun(await shortCampaign({ target: 'bulwark', consensus: 'paxos', workload: 'register', faults, seed: 21 }), faults);
});
