/** Round-robin: each eligible backend in turn, weights ignored. */
import type { PickableBackend } from './backend.js';
import { allowed, type PickRequest, type Picker, type PickerInput, type Policy } from './policy.js';

class RoundRobinPicker implements Picker {
  private next: number;

  constructor(private readonly backends: readonly PickableBackend[], start: number) {
    this.next = start;
  }

  pick(request: PickRequest) {
    const n = this.backends.length;
    for (let i = 0; i < n; i++) {
      const b = this.backends[(this.next + i) % n]!;
      if (allowed(request, b)) {
        this.next = (this.next + i + 1) % n;
        return b.id;
      }
    }
    return null;
  }
}

export const roundRobinPolicy: Policy = {
  name: 'round-robin',
  // A random start, so that every rebuild does not send the next request to the first backend.
  build: (input: PickerInput) => new RoundRobinPicker(input.backends, input.random.int(input.backends.length)),
};
