/**
 * The key index: every key with retained history, in byte order, mapped to the head (newest
 * record) of its history. A two-level B-tree: an array of sorted leaves of at most
 * KV_INDEX_LEAF_KEYS_MAX heads, and beside it the first key of each leaf for the binary search.
 * At a million keys that is about 2,000 leaves: a lookup is two binary searches of string
 * compares, an insert moves at most one leaf's worth of pointers, and the structure costs one
 * pointer per key plus the leaves' headers.
 */
import { assert } from '../core/assert.js';
import { KV_INDEX_LEAF_KEYS_MAX } from '../core/limits.js';
import type { RevRecord } from './record.js';

/** A key range over latin1 keys: one key, or [start, end) where end null means unbounded. */
export type KeyRange = { readonly type: 'single'; readonly key: string } | { readonly type: 'range'; readonly start: string; readonly end: string | null };

/**
 * etcd's key/range_end rules: an empty range_end selects the single key; "\0" selects every key
 * at or after key; anything else is [key, range_end) (empty when key >= range_end).
 */
export function keyRange(key: string, rangeEnd: string): KeyRange {
  if (rangeEnd.length === 0) return { type: 'single', key };
  if (rangeEnd === '\0') return { type: 'range', start: key, end: null };
  return { type: 'range', start: key, end: rangeEnd };
}

export function inKeyRange(r: KeyRange, key: string): boolean {
  if (r.type === 'single') return key === r.key;
  return key >= r.start && (r.end === null || key < r.end);
}

const LEAF_MAX = KV_INDEX_LEAF_KEYS_MAX;
const LEAF_MIN = LEAF_MAX >> 2;

export class KeyIndex {
  private leaves: RevRecord[][] = [];
  private firstKeys: string[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** The leaf that holds `key` if present: the last leaf whose first key is <= key. */
  private leafFor(key: string): number {
    const fk = this.firstKeys;
    let lo = 0;
    let hi = fk.length - 1;
    if (hi < 0 || key < fk[0]!) return 0;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (fk[mid]! <= key) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** First position in `leaf` whose key is >= key. */
  private static lowerBound(leaf: readonly RevRecord[], key: string): number {
    let lo = 0;
    let hi = leaf.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (leaf[mid]!.key < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  get(key: string): RevRecord | undefined {
    if (this.count === 0) return undefined;
    const leaf = this.leaves[this.leafFor(key)]!;
    const i = KeyIndex.lowerBound(leaf, key);
    const r = leaf[i];
    return r !== undefined && r.key === key ? r : undefined;
  }

  /** Inserts the head for `head.key`, or replaces the existing one. */
  set(head: RevRecord): void {
    if (this.count === 0) {
      this.leaves = [[head]];
      this.firstKeys = [head.key];
      this.count = 1;
      return;
    }
    const li = this.leafFor(head.key);
    const leaf = this.leaves[li]!;
    const i = KeyIndex.lowerBound(leaf, head.key);
    if (i < leaf.length && leaf[i]!.key === head.key) {
      leaf[i] = head;
      return;
    }
    leaf.splice(i, 0, head);
    this.count++;
    if (i === 0) this.firstKeys[li] = head.key;
    if (leaf.length > LEAF_MAX) this.split(li);
  }

  delete(key: string): boolean {
    if (this.count === 0) return false;
    const li = this.leafFor(key);
    const leaf = this.leaves[li]!;
    const i = KeyIndex.lowerBound(leaf, key);
    if (i >= leaf.length || leaf[i]!.key !== key) return false;
    leaf.splice(i, 1);
    this.count--;
    if (leaf.length === 0) {
      this.leaves.splice(li, 1);
      this.firstKeys.splice(li, 1);
    } else {
      if (i === 0) this.firstKeys[li] = leaf[0]!.key;
      if (leaf.length < LEAF_MIN && li + 1 < this.leaves.length && leaf.length + this.leaves[li + 1]!.length <= LEAF_MAX) {
        // Merge with the right neighbour so deletes cannot leave many nearly empty leaves.
        this.leaves[li] = leaf.concat(this.leaves[li + 1]!);
        this.leaves.splice(li + 1, 1);
        this.firstKeys.splice(li + 1, 1);
      }
    }
    return true;
  }

  private split(li: number): void {
    const leaf = this.leaves[li]!;
    const half = leaf.length >> 1;
    const right = leaf.splice(half);
    this.leaves.splice(li + 1, 0, right);
    this.firstKeys.splice(li + 1, 0, right[0]!.key);
  }

  /**
   * Visits heads of keys in the range in key order; `fn` returns false to stop. The index must not
   * be modified during the visit.
   */
  forEachInRange(range: KeyRange, fn: (head: RevRecord) => boolean | void): void {
    if (this.count === 0) return;
    if (range.type === 'single') {
      const h = this.get(range.key);
      if (h !== undefined) fn(h);
      return;
    }
    if (range.end !== null && range.start >= range.end) return;
    let li = this.leafFor(range.start);
    let i = KeyIndex.lowerBound(this.leaves[li]!, range.start);
    const end = range.end;
    for (; li < this.leaves.length; li++, i = 0) {
      const leaf = this.leaves[li]!;
      for (; i < leaf.length; i++) {
        const h = leaf[i]!;
        if (end !== null && h.key >= end) return;
        if (fn(h) === false) return;
      }
    }
  }

  /** The first head with key > `after` (or >= when `inclusive`), or undefined: resumable iteration. */
  next(after: string, inclusive = false): RevRecord | undefined {
    if (this.count === 0) return undefined;
    let li = this.leafFor(after);
    let i = KeyIndex.lowerBound(this.leaves[li]!, after);
    const leaf = this.leaves[li]!;
    if (!inclusive && i < leaf.length && leaf[i]!.key === after) i++;
    while (li < this.leaves.length) {
      const l = this.leaves[li]!;
      if (i < l.length) return l[i];
      li++;
      i = 0;
    }
    return undefined;
  }

  /** Every head in key order: a point-in-time copy (one pointer per key). */
  heads(): RevRecord[] {
    const out = new Array<RevRecord>(this.count);
    let n = 0;
    for (const leaf of this.leaves) for (const h of leaf) out[n++] = h;
    return out;
  }

  /** Builds an index from heads already in strictly increasing key order. */
  static fromSorted(heads: readonly RevRecord[]): KeyIndex {
    const idx = new KeyIndex();
    const fill = Math.max(1, Math.floor((LEAF_MAX * 3) / 4));
    for (let i = 0; i < heads.length; i += fill) {
      const leaf = heads.slice(i, i + fill);
      idx.leaves.push(leaf);
      idx.firstKeys.push(leaf[0]!.key);
    }
    for (let i = 1; i < heads.length; i++) assert(heads[i - 1]!.key < heads[i]!.key, 'fromSorted: keys not strictly increasing');
    idx.count = heads.length;
    return idx;
  }

  /** Checks the structure's invariants (tests). */
  check(): void {
    let n = 0;
    let last: string | null = null;
    assert(this.leaves.length === this.firstKeys.length, 'leaves and first keys agree');
    for (let li = 0; li < this.leaves.length; li++) {
      const leaf = this.leaves[li]!;
      assert(leaf.length > 0 && leaf.length <= LEAF_MAX, `leaf ${li} size ${leaf.length}`);
      assert(this.firstKeys[li] === leaf[0]!.key, `first key of leaf ${li}`);
      for (const h of leaf) {
        assert(last === null || last < h.key, 'keys strictly increasing');
        last = h.key;
        n++;
      }
    }
    assert(n === this.count, 'count matches');
  }
}
