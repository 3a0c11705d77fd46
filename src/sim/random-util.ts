/** Distributions the simulator draws from, on top of the Random seam. */
import type { Random } from '../env/random.js';

/** Exponentially distributed with the given mean (inverse transform). */
export function exponential(random: Random, mean: number): number {
  return mean <= 0 ? 0 : -mean * Math.log(1 - random.float());
}

/** A new array in random order (Fisher–Yates). */
export function shuffle<T>(random: Random, items: readonly T[]): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** A float in [min, max). */
export function between(random: Random, min: number, max: number): number {
  return min + random.float() * (max - min);
}
