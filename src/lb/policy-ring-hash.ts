/**
 * Ring hash (Ketama-style consistent hashing): each backend owns many points on a 32-bit ring, in
 * proportion to its weight; a key goes to the first point at or after its hash. Adding one backend
 * to N moves only about 1/(N+1) of the keys. A retry walks on round the ring to the next backend.
 */
import { assert } from '../core/assert.js';
import { LB_RING_HASH_POINTS_PER_WEIGHT, LB_RING_HASH_SIZE_MAX } from '../core/limits.js';
import type { Random } from '../env/random.js';
import type { BackendId, PickableBackend } from './backend.js';
import { hashString } from './hash.js';
import { allowed, type PickRequest, type Picker, type PickerInput, type Policy } from './policy.js';

export class RingHashPicker implements Picker {
  private readonly points: Uint32Array;
  private readonly owners: Uint16Array;

  constructor(
    private readonly backends: readonly PickableBackend[],
    private readonly random: Random,
  ) {
    assert(backends.length > 0 && backends.length <= 0xffff, 'ring hash needs 1..65535 backends');
    const totalWeight = backends.reduce((s, b) => s + b.weight, 0);
    const perWeight = Math.max(1, Math.min(LB_RING_HASH_POINTS_PER_WEIGHT, Math.floor(LB_RING_HASH_SIZE_MAX / totalWeight)));
    const entries: { hash: number; owner: number }[] = [];
    backends.forEach((b, owner) => {
      const count = b.weight * perWeight;
      for (let i = 0; i < count; i++) entries.push({ hash: hashString(`${b.id}_${i}`), owner });
    });
    // Ties (rare) are broken by owner so the ring does not depend on insertion order.
    entries.sort((x, y) => x.hash - y.hash || x.owner - y.owner);
    this.points = Uint32Array.from(entries, (e) => e.hash);
    this.owners = Uint16Array.from(entries, (e) => e.owner);
  }

  get sizePoints(): number {
    return this.points.length;
  }

  pick(request: PickRequest): BackendId | null {
    // No key: any backend will do.
    const start = request.hashKey === undefined ? this.random.int(this.points.length) : this.firstAtOrAfter(hashString(request.hashKey));
    for (let k = 0; k < this.points.length; k++) {
      const b = this.backends[this.owners[(start + k) % this.points.length]!]!;
      if (allowed(request, b)) return b.id;
      // Skip the rest of this backend's consecutive points quickly: bounded by the ring length anyway.
    }
    return null;
  }

  private firstAtOrAfter(h: number): number {
    let lo = 0;
    let hi = this.points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.points[mid]! < h) lo = mid + 1;
      else hi = mid;
    }
    return lo === this.points.length ? 0 : lo;
  }
}

export const ringHashPolicy: Policy = {
  name: 'ring-hash',
  build: (input: PickerInput) => new RingHashPicker(input.backends, input.random),
};
