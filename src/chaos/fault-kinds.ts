/**
 * The faults the nemesis can inject, the groups a user can name on the command line, and what each
 * needs from the target (process control, a network fabric, Bulwark's failpoints).
 */
import { assertNever } from '../core/assert.js';

export const FAULT_KINDS = [
  'kill',
  'pause',
  'partition-halves',
  'partition-lone',
  'partition-bridge',
  'partition-oneway',
  'delay',
  'loss',
  'bandwidth',
  'disk-slow',
  'disk-fail',
  'leader-move',
  'member-replace',
] as const;

export type FaultKind = (typeof FAULT_KINDS)[number];

export const FAULT_GROUPS: Readonly<Record<string, readonly FaultKind[]>> = {
  process: ['kill', 'pause'],
  partition: ['partition-halves', 'partition-lone', 'partition-bridge', 'partition-oneway'],
  network: ['partition-halves', 'partition-lone', 'partition-bridge', 'partition-oneway', 'delay', 'loss', 'bandwidth'],
  disk: ['disk-slow', 'disk-fail'],
  admin: ['leader-move', 'member-replace'],
  all: FAULT_KINDS,
};

export type FaultNeed = 'process' | 'network-cut' | 'network-delay' | 'network-loss' | 'network-bandwidth' | 'failpoints' | 'admin' | 'three-members';

export function needsOf(kind: FaultKind): readonly FaultNeed[] {
  switch (kind) {
    case 'kill':
    case 'pause':
      return ['process'];
    case 'partition-halves':
    case 'partition-lone':
    case 'partition-oneway':
      return ['network-cut'];
    case 'partition-bridge':
      return ['network-cut', 'three-members'];
    case 'delay':
      return ['network-delay'];
    case 'loss':
      return ['network-loss'];
    case 'bandwidth':
      return ['network-bandwidth'];
    case 'disk-slow':
    case 'disk-fail':
      return ['process', 'failpoints'];
    case 'leader-move':
      return ['admin'];
    case 'member-replace':
      return ['process', 'admin'];
    default:
      return assertNever(kind, 'fault kind');
  }
}

/** "kill,partition,delay" → the kinds, groups expanded, in FAULT_KINDS order; an unknown name is returned as such. */
export function parseFaultList(text: string): { kinds: FaultKind[]; unknown: string[] } {
  const want = new Set<FaultKind>();
  const unknown: string[] = [];
  for (const raw of text.split(',').map((s) => s.trim()).filter((s) => s.length > 0)) {
    if (raw === 'none') continue;
    const group = FAULT_GROUPS[raw];
    if (group !== undefined) for (const k of group) want.add(k);
    else if ((FAULT_KINDS as readonly string[]).includes(raw)) want.add(raw as FaultKind);
    else unknown.push(raw);
  }
  return { kinds: FAULT_KINDS.filter((k) => want.has(k)), unknown };
}
