/** The environment a component runs in: real (src/env/node) or simulated (src/sim). */
import type { Clock } from './clock.js';
import type { Disk } from './disk.js';
import type { Logger } from './logger.js';
import type { Random } from './random.js';

export interface Env {
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
}

export interface EnvWithDisk extends Env {
  readonly disk: Disk;
}
