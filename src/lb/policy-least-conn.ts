/**
 * Least connections: the backend with the fewest requests (L7) or connections (L4) in flight,
 * relative to its weight. Ties rotate, so that an idle pool is not all sent to the first backend.
 */
import type { BackendId, PickableBackend } from './backend.js';
import { allowed, type PickRequest, type Picker, type PickerInput, type Policy } from './policy.js';

class LeastConnPicker implements Picker {
  private rotation: number;

  constructor(private readonly backends: readonly PickableBackend[], start: number) {
    this.rotation = start;
  }

  pick(request: PickRequest): BackendId | null {
    const n = this.backends.length;
    let best: PickableBackend | null = null;
    let bestScore = Infinity;
    for (let k = 0; k < n; k++) {
      const b = this.backends[(this.rotation + k) % n]!;
      if (!allowed(request, b)) continue;
      const score = (b.load.active + 1) / b.weight;
      if (score < bestScore) {
        best = b;
        bestScore = score;
      }
    }
    this.rotation = (this.rotation + 1) % n;
    return best === null ? null : best.id;
  }
}

export const leastConnPolicy: Policy = {
  name: 'least-conn',
  build: (input: PickerInput) => new LeastConnPicker(input.backends, input.random.int(input.backends.length)),
};
