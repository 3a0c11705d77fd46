/**
 * Power of two choices, least request (Envoy's default for equal weights): draw two distinct
 * backends at random and take the one with fewer requests in flight (relative to weight). The
 * maximum load drops from Θ(ln n / ln ln n) for one random choice to ln ln n / ln 2 + O(1), and the
 * most loaded backend is never chosen while its rival is less loaded, so stale load causes no herd.
 */
import { LB_P2C_CHOICES } from '../core/limits.js';
import type { Random } from '../env/random.js';
import type { BackendId, PickableBackend } from './backend.js';
import { allowed, type PickRequest, type Picker, type PickerInput, type Policy } from './policy.js';
import { weightedDraw } from './policy-random.js';

class P2cPicker implements Picker {
  private readonly equalWeights: boolean;

  constructor(
    private readonly backends: readonly PickableBackend[],
    private readonly random: Random,
  ) {
    this.equalWeights = backends.every((b) => b.weight === backends[0]!.weight);
  }

  pick(request: PickRequest): BackendId | null {
    const n = this.backends.length;
    if (this.equalWeights && (request.exclude === undefined || request.exclude.size === 0)) {
      // The common case in O(1): two distinct uniform draws.
      if (n === 1) return this.backends[0]!.id;
      const i = this.random.int(n);
      let j = this.random.int(n - 1);
      if (j >= i) j++;
      const a = this.backends[i]!;
      const b = this.backends[j]!;
      return a.load.active <= b.load.active ? a.id : b.id;
    }
    let best: PickableBackend | null = null;
    let bestScore = Infinity;
    let seen: Set<BackendId> | undefined;
    for (let c = 0; c < LB_P2C_CHOICES; c++) {
      const exclude = seen === undefined ? request.exclude : union(request.exclude, seen);
      const b = weightedDraw(this.backends, this.random, { exclude });
      if (b === null) break;
      const score = (b.load.active + 1) / b.weight;
      if (score < bestScore) {
        best = b;
        bestScore = score;
      }
      (seen ??= new Set()).add(b.id);
    }
    return best === null || !allowed(request, best) ? null : best.id;
  }
}

function union(a: ReadonlySet<BackendId> | undefined, b: ReadonlySet<BackendId>): ReadonlySet<BackendId> {
  if (a === undefined || a.size === 0) return b;
  const out = new Set(a);
  for (const x of b) out.add(x);
  return out;
}

export const p2cPolicy: Policy = {
  name: 'p2c',
  build: (input: PickerInput) => new P2cPicker(input.backends, input.random),
};
