/**
 * Randomness, the second seam. Every random choice (election timeouts, lease ids, jitter, the
 * simulator's faults) comes from a Random, so a seed reproduces a run exactly.
 */
export interface Random {
  /** A uniformly distributed 32-bit unsigned integer. */
  uint32(): number;
  /** A float in [0, 1). */
  float(): number;
  /** An integer in [0, maxExclusive). */
  int(maxExclusive: number): number;
  /** An integer in [min, max] inclusive. */
  intBetween(min: number, max: number): number;
  /** True with probability p. */
  chance(p: number): boolean;
  /** A uniformly chosen element. The array must not be empty. */
  pick<T>(items: readonly T[]): T;
  /** A random 64-bit unsigned integer. */
  uint64(): bigint;
  /** Fills a new array with random bytes. */
  bytes(n: number): Uint8Array;
  /** An independent generator derived from this one (for one node or one subsystem). */
  fork(): Random;
}

/**
 * xoshiro128** seeded through splitmix32: fast, small state, good statistical quality, and
 * identical on every platform. Used by the simulator directly and by the real environment seeded
 * from the operating system's entropy.
 */
export class SeededRandom implements Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number | bigint) {
    let s = Number(BigInt.asUintN(32, BigInt(seed))) ^ Number(BigInt.asUintN(32, BigInt(seed) >> 32n));
    const next = (): number => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  uint32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  float(): number {
    return this.uint32() / 0x1_0000_0000;
  }

  int(maxExclusive: number): number {
    if (!(maxExclusive > 0)) throw new RangeError(`int(${maxExclusive}): bound must be positive`);
    return Math.floor(this.float() * maxExclusive);
  }

  intBetween(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  chance(p: number): boolean {
    return p > 0 && this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty array');
    return items[this.int(items.length)]!;
  }

  uint64(): bigint {
    return (BigInt(this.uint32()) << 32n) | BigInt(this.uint32());
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 4) {
      let v = this.uint32();
      for (let j = i; j < Math.min(n, i + 4); j++) {
        out[j] = v & 0xff;
        v >>>= 8;
      }
    }
    return out;
  }

  fork(): Random {
    return new SeededRandom((BigInt(this.uint32()) << 32n) | BigInt(this.uint32()));
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
