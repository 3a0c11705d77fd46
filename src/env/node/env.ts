import type { EnvWithDisk } from '../env.js';
import type { LogLevel } from '../logger.js';
import { NodeClock } from './clock.js';
import { NodeDisk } from './disk.js';
import { JsonLogger } from './logger.js';
import { nodeRandom } from './random.js';

/** The real environment: wall clocks, OS entropy, files under `dataDir`, JSON logs on stderr. */
export function nodeEnv(options: { dataDir: string; logLevel?: LogLevel }): EnvWithDisk {
  return {
    clock: new NodeClock(),
    random: nodeRandom(),
    logger: new JsonLogger({ level: options.logLevel ?? 'info' }),
    disk: new NodeDisk(options.dataDir),
  };
}
