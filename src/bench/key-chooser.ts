/**
 * Which key the next operation touches: uniform over the key space, or zipfian (a few hot keys
 * take most of the traffic, as in YCSB). The zipfian generator is Gray et al.'s ("Quickly
 * generating billion-record synthetic databases", SIGMOD 1994), the one YCSB uses, with the
 * item ranks scattered over the key space so the hot keys are not neighbours.
 */
import { assert, assertNever } from '../core/assert.js';
import type { Random } from '../env/random.js';

export type KeyDistribution = { readonly type: 'uniform' } | { readonly type: 'zipfian'; readonly theta: number };

/** YCSB's default skew. */
export const ZIPFIAN_THETA_DEFAULT = 0.99;

export interface KeyChooser {
  /** A key index in [0, keyCount). */
  next(): number;
}

export function keyChooser(o: { readonly distribution: KeyDistribution; readonly keyCount: number; readonly random: Random }): KeyChooser {
  assert(Number.isInteger(o.keyCount) && o.keyCount >= 1, 'at least one key');
  const d = o.distribution;
  switch (d.type) {
    case 'uniform':
      return { next: () => o.random.int(o.keyCount) };
    case 'zipfian':
      return new ZipfianChooser(o.keyCount, d.theta, o.random);
    default:
      return assertNever(d, 'key distribution');
  }
}

class ZipfianChooser implements KeyChooser {
  private readonly alpha: number;
  private readonly zetan: number;
  private readonly eta: number;
  private readonly half: number;
  private readonly multiplier: number;
  private readonly offset: number;

  constructor(
    private readonly n: number,
    theta: number,
    private readonly random: Random,
  ) {
    assert(theta > 0 && theta < 1, 'zipfian theta in (0, 1)');
    this.zetan = zeta(n, theta);
    const zeta2 = zeta(2, theta);
    this.alpha = 1 / (1 - theta);
    this.eta = (1 - Math.pow(2 / n, 1 - theta)) / (1 - zeta2 / this.zetan);
    this.half = 1 + Math.pow(0.5, theta);
    this.multiplier = scatterMultiplier(n);
    this.offset = Math.floor(n * 0.618);
  }

  next(): number {
    const u = this.random.float();
    const uz = u * this.zetan;
    let rank: number;
    if (uz < 1) rank = 0;
    else if (uz < this.half) rank = 1;
    else rank = Math.floor(this.n * Math.pow(this.eta * u - this.eta + 1, this.alpha));
    if (rank >= this.n) rank = this.n - 1;
    return Number((BigInt(rank) * BigInt(this.multiplier) + BigInt(this.offset)) % BigInt(this.n));
  }
}

function zeta(n: number, theta: number): number {
  let sum = 0;
  for (let i = 1; i <= n; i++) sum += 1 / Math.pow(i, theta);
  return sum;
}

/** A multiplier coprime to n: rank → (rank·m + c) mod n is a permutation of [0, n), so the hot ranks are not keys 0, 1, 2... */
function scatterMultiplier(n: number): number {
  if (n <= 2) return 1;
  let m = 2654435761 % n;
  while (m === 0 || gcd(m, n) !== 1) m = (m + 1) % n;
  return m;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** The key for index i: `prefix` followed by the index, zero-padded to `keyBytes` in total. */
export function keyName(prefix: string, index: number, keyBytes: number): string {
  const digits = String(index);
  const pad = Math.max(0, keyBytes - prefix.length - digits.length);
  return prefix + '0'.repeat(pad) + digits;
}
