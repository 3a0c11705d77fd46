/** Random: a backend drawn with probability proportional to its weight. */
import type { Random } from '../env/random.js';
import type { BackendId, PickableBackend } from './backend.js';
import { allowed, type PickRequest, type Picker, type PickerInput, type Policy } from './policy.js';

/** Weighted draw over the allowed backends; shared with the power-of-two-choices policy. */
export function weightedDraw(backends: readonly PickableBackend[], random: Random, request: PickRequest): PickableBackend | null {
  let total = 0;
  for (const b of backends) if (allowed(request, b)) total += b.weight;
  if (total === 0) return null;
  let r = random.float() * total;
  for (const b of backends) {
    if (!allowed(request, b)) continue;
    r -= b.weight;
    if (r < 0) return b;
  }
  // Floating-point rounding can leave r at exactly 0 after the last allowed backend.
  for (let i = backends.length - 1; i >= 0; i--) if (allowed(request, backends[i]!)) return backends[i]!;
  return null;
}

class RandomPicker implements Picker {
  constructor(
    private readonly backends: readonly PickableBackend[],
    private readonly random: Random,
  ) {}

  pick(request: PickRequest): BackendId | null {
    return weightedDraw(this.backends, this.random, request)?.id ?? null;
  }
}

export const randomPolicy: Policy = {
  name: 'random',
  build: (input: PickerInput) => new RandomPicker(input.backends, input.random),
};
