/**
 * The client with the real world wired in: Node's clock and timers, OS entropy, our HTTP/2 gRPC
 * channels over TCP.
 */
import { CLIENT_DIAL_TIMEOUT_MS_DEFAULT } from '../core/limits.js';
import { NodeClock } from '../env/node/clock.js';
import { nodeRandom } from '../env/node/random.js';
import { BulwarkClient, type ClientCoreOptions } from './client.js';
import { NodeConnector } from './node-connector.js';

export interface ClientOptions extends Omit<ClientCoreOptions, 'connector' | 'clock' | 'random'> {
  /** Time to open a TCP connection to one endpoint (default 2000 ms, as etcdctl). */
  readonly dialTimeoutMs?: number;
  readonly clock?: ClientCoreOptions['clock'];
  readonly random?: ClientCoreOptions['random'];
  readonly connector?: ClientCoreOptions['connector'];
}

/** A client for a Bulwark or etcd cluster. Close it when done. */
export function createClient(options: ClientOptions): BulwarkClient {
  return new BulwarkClient({
    ...options,
    clock: options.clock ?? new NodeClock(),
    random: options.random ?? nodeRandom(),
    connector: options.connector ?? new NodeConnector({ dialTimeoutMs: options.dialTimeoutMs ?? CLIENT_DIAL_TIMEOUT_MS_DEFAULT }),
  });
}
