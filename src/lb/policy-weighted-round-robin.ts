/**
 * Smooth weighted round-robin (the scheme nginx uses): each pick, every backend's current weight
 * grows by its weight, the largest is chosen, and the chosen one gives back the total. Over any
 * window of sum(weights) picks each backend is chosen exactly `weight` times, and the picks of a
 * heavy backend are interleaved with the others instead of coming in a burst.
 */
import type { BackendId, PickableBackend } from './backend.js';
import { allowed, type PickRequest, type Picker, type PickerInput, type Policy } from './policy.js';

class SmoothWeightedPicker implements Picker {
  private readonly current: number[];

  constructor(private readonly backends: readonly PickableBackend[]) {
    this.current = backends.map(() => 0);
  }

  pick(request: PickRequest): BackendId | null {
    let total = 0;
    let best = -1;
    for (let i = 0; i < this.backends.length; i++) {
      const b = this.backends[i]!;
      if (!allowed(request, b)) continue;
      this.current[i]! += b.weight;
      total += b.weight;
      if (best < 0 || this.current[i]! > this.current[best]!) best = i;
    }
    if (best < 0) return null;
    this.current[best]! -= total;
    return this.backends[best]!.id;
  }
}

export const weightedRoundRobinPolicy: Policy = {
  name: 'weighted-round-robin',
  build: (input: PickerInput) => new SmoothWeightedPicker(input.backends),
};
