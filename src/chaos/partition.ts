/**
 * Network partitions as sets of cut directed links ("messages from a no longer reach b"), built
 * from the shapes Jepsen uses: two halves, one member alone, a bridge (two sides that can only
 * reach each other through one member), and one-way cuts. Pure: the fabric applies them.
 */
import { assert, assertNever } from '../core/assert.js';
import type { Random } from '../env/random.js';

export interface DirectedLink {
  readonly from: string;
  readonly to: string;
}

export type PartitionShape =
  | { readonly type: 'halves' }
  | { readonly type: 'lone'; readonly member: string }
  | { readonly type: 'bridge' }
  /** `member` hears nobody but everyone hears it (or the reverse with `inbound: false`). */
  | { readonly type: 'oneway'; readonly member: string; readonly inbound: boolean };

export interface Partition {
  readonly cuts: readonly DirectedLink[];
  /** The members to show as hit: the minority side, the lone or one-way member, the bridge. */
  readonly affected: readonly string[];
  /** For people: "m1 m2 | m3". */
  readonly description: string;
}

/** Cuts every link between `a` and `b`, both ways. */
export function cutBetween(a: readonly string[], b: readonly string[]): DirectedLink[] {
  const out: DirectedLink[] = [];
  for (const x of a) for (const y of b) if (x !== y) out.push({ from: x, to: y }, { from: y, to: x });
  return out;
}

function shuffled<T>(items: readonly T[], random: Random): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

export function buildPartition(members: readonly string[], shape: PartitionShape, random: Random): Partition {
  assert(members.length >= 2, 'a partition needs two members');
  switch (shape.type) {
    case 'halves': {
      const s = shuffled(members, random);
      const a = s.slice(0, Math.floor(s.length / 2)).sort();
      const b = s.slice(Math.floor(s.length / 2)).sort();
      return { cuts: cutBetween(a, b), affected: a, description: `${a.join(' ')} | ${b.join(' ')}` };
    }
    case 'lone': {
      assert(members.includes(shape.member), 'the lone member is a member');
      const rest = members.filter((m) => m !== shape.member);
      return { cuts: cutBetween([shape.member], rest), affected: [shape.member], description: `${shape.member} | ${rest.join(' ')}` };
    }
    case 'bridge': {
      assert(members.length >= 3, 'a bridge needs three members');
      const s = shuffled(members, random);
      const bridge = s[0]!;
      const others = s.slice(1);
      const a = others.slice(0, Math.floor(others.length / 2)).sort();
      const b = others.slice(Math.floor(others.length / 2)).sort();
      return { cuts: cutBetween(a, b), affected: [bridge], description: `${a.join(' ')} | ${b.join(' ')}, bridged by ${bridge}` };
    }
    case 'oneway': {
      const rest = members.filter((m) => m !== shape.member);
      const cuts = rest.map((r) => (shape.inbound ? { from: r, to: shape.member } : { from: shape.member, to: r }));
      return { cuts, affected: [shape.member], description: shape.inbound ? `${shape.member} hears nobody (${rest.join(' ')} → ${shape.member} cut)` : `nobody hears ${shape.member} (${shape.member} → ${rest.join(' ')} cut)` };
    }
    default:
      return assertNever(shape, 'partition shape');
  }
}

/** Whether members `a` and `b` can still reach each other both ways. */
export function connected(cuts: readonly DirectedLink[], a: string, b: string): boolean {
  return !cuts.some((c) => (c.from === a && c.to === b) || (c.from === b && c.to === a));
}
