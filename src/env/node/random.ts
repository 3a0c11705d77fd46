import { randomBytes } from 'node:crypto';
import { SeededRandom, type Random } from '../random.js';

/** A generator seeded from the operating system's entropy, or from `seed` when one is given. */
export function nodeRandom(seed?: bigint): Random {
  return new SeededRandom(seed ?? randomBytes(8).readBigUInt64LE(0));
}
