/**
 * The balancing-policy contract. A Policy builds a Picker from the backends currently eligible;
 * the balancer rebuilds the picker whenever the eligible set or the policy changes, so a picker
 * never has to cope with backends coming and going. Pickers may keep private rotation state (the
 * round-robin cursor, smooth weighted round-robin's current weights); load comes live through
 * each backend's shared `load` counters.
 */
import type { Random } from '../env/random.js';
import type { BackendId, PickableBackend } from './backend.js';

export const POLICY_NAMES = ['round-robin', 'weighted-round-robin', 'least-conn', 'random', 'p2c', 'ring-hash', 'maglev'] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];

export function isPolicyName(s: string): s is PolicyName {
  return (POLICY_NAMES as readonly string[]).includes(s);
}

export interface PickRequest {
  /** The hash key for consistent-hashing policies (client address, a header, the path); others ignore it. */
  readonly hashKey?: string | undefined;
  /** Backends already tried by this request (a retry goes elsewhere). */
  readonly exclude?: ReadonlySet<BackendId> | undefined;
}

export interface Picker {
  /** A backend for this request, or null when every eligible backend is excluded. */
  pick(request: PickRequest): BackendId | null;
}

export interface PickerInput {
  /** Eligible backends, non-empty, in a stable order (the configuration's). */
  readonly backends: readonly PickableBackend[];
  readonly random: Random;
}

export interface Policy {
  readonly name: PolicyName;
  build(input: PickerInput): Picker;
}

/** True when `b` may be picked for this request. */
export function allowed(request: PickRequest, b: PickableBackend): boolean {
  return request.exclude === undefined || !request.exclude.has(b.id);
}
