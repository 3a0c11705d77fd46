import type { MetadataInit } from '../api/grpc/metadata.js';
import type { Clock } from '../env/clock.js';
import type { Logger } from '../env/logger.js';
import type { Random } from '../env/random.js';
import type { BackoffOptions } from './backoff.js';
import type { CallRunner } from './call-runner.js';
import type { EndpointPool } from './endpoint-pool.js';
import type { EventHub } from './events.js';

/** What the long-lived stream managers (watches, lease keep-alives) take from the client. */
export interface StreamManagerDeps {
  readonly pool: EndpointPool;
  readonly runner: CallRunner;
  readonly clock: Clock;
  readonly random: Random;
  readonly events: EventHub;
  readonly logger: Logger;
  readonly backoff: BackoffOptions;
  readonly metadata: MetadataInit;
  readonly closed: AbortSignal;
}
