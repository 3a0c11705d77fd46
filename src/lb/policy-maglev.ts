/**
 * Maglev consistent hashing (Eisenbud et al., NSDI 2016, §3.4): each backend has a permutation of
 * a prime-sized table given by an offset and a skip derived from its name; backends take turns
 * claiming their next free slot until the table is full. Lookup is one array index. Weights give a
 * backend turns in proportion to its weight. Slightly less stable than a ring when the set changes,
 * but much faster to look up. A retry probes onwards through the table.
 */
import { assert } from '../core/assert.js';
import { LB_MAGLEV_TABLE_SIZE } from '../core/limits.js';
import type { Random } from '../env/random.js';
import type { BackendId, PickableBackend } from './backend.js';
import { hashString } from './hash.js';
import { allowed, type PickRequest, type Picker, type PickerInput, type Policy } from './policy.js';

export function buildMaglevTable(backends: readonly PickableBackend[], tableSize = LB_MAGLEV_TABLE_SIZE): Uint16Array {
  const m = tableSize;
  const n = backends.length;
  assert(n > 0 && n < 0xffff && n <= m, 'maglev needs 1..min(65534, table size) backends');
  const offset = backends.map((b) => hashString(b.id, 0xa11ce) % m);
  const skip = backends.map((b) => (hashString(b.id, 0xb0b) % (m - 1)) + 1);
  const next = new Array<number>(n).fill(0);
  const placed = new Array<number>(n).fill(0);
  const maxWeight = Math.max(...backends.map((b) => b.weight));
  const EMPTY = 0xffff;
  const table = new Uint16Array(m).fill(EMPTY);
  let filled = 0;
  for (let turn = 1; filled < m; turn++) {
    for (let i = 0; i < n && filled < m; i++) {
      // Backend i may hold turn × weight/maxWeight slots by the end of this turn.
      if (placed[i]! >= (turn * backends[i]!.weight) / maxWeight) continue;
      let c = (offset[i]! + next[i]! * skip[i]!) % m;
      while (table[c] !== EMPTY) {
        next[i]!++;
        c = (offset[i]! + next[i]! * skip[i]!) % m;
      }
      table[c] = i;
      next[i]!++;
      placed[i]!++;
      filled++;
    }
  }
  return table;
}

class MaglevPicker implements Picker {
  private readonly table: Uint16Array;

  constructor(
    private readonly backends: readonly PickableBackend[],
    private readonly random: Random,
  ) {
    this.table = buildMaglevTable(backends);
  }

  pick(request: PickRequest): BackendId | null {
    const m = this.table.length;
    const start = request.hashKey === undefined ? this.random.int(m) : hashString(request.hashKey) % m;
    // Usually the first slot; a retry probes on. Every backend owns about m/n slots, so a short probe finds one.
    for (let k = 0; k < m; k++) {
      const b = this.backends[this.table[(start + k) % m]!]!;
      if (allowed(request, b)) return b.id;
    }
    return null;
  }
}

export const maglevPolicy: Policy = {
  name: 'maglev',
  build: (input: PickerInput) => new MaglevPicker(input.backends, input.random),
};
