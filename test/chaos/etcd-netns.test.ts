/** The network-namespace fabric: real packet drops between members (root, Linux, iproute2 and iptables). */
import { test } from 'node:test';
import { netnsUnavailable } from '../../src/chaos/netns-fabric.js';
import { assertCleanRun, etcdMissing, shortCampaign } from './harness.js';

const why = etcdMissing || (await netnsUnavailable());

test('set with partitions and packet loss in network namespaces against etcd', { skip: why ?? false, timeout: 150_000 }, async () => {
  const faults = ['partition-halves', 'loss', 'partition-oneway'] as const;
  assertCleanRun(await shortCampaign({ workload: 'set', faults, seed: 16, network: 'netns' }), faults);
});
