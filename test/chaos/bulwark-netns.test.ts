/** The network-namespace fabric: real packet drops between members (root, Linux, iproute2 and iptables). */
import { test } from 'node:test';
import { netnsUnavailable } from '../../src/chaos/netns-fabric.js';
import { assertCleanRun, bulwarkMissing, shortCampaign } from './harness.js';

const why = bulwarkMissing || (await netnsUnavailable());

test('Bulwark set with partitions and packet loss in network namespaces', { skip: why ?? false, timeout: 150_000 }, async () => {
  const faults = ['partition-halves', 'loss'] as const;
  assertCleanRun(await shortCampaign({ target: 'bulwark', workload: 'set', faults, seed: 16, network: 'netns' }), faults);
});
