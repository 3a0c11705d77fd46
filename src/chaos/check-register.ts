/**
 * The register checker: a chaos history of reads, writes and compare-and-sets per key becomes the
 * linearizability checker's history (src/check), key by key, so every key that cannot be ordered
 * is reported with its smallest failing window, not only the first.
 *
 * Mapping: an ok operation keeps its output; a write or compare-and-set in doubt (info) has no
 * return — it may have happened at any time after its call, or never; a write that certainly
 * failed, and any read that did not answer, are left out (they changed nothing).
 */
import { checkHistory } from '../check/linearizability.js';
import type { KvInput, KvOutput, Operation } from '../check/history.js';
import { CHAOS_ANOMALIES_PER_TYPE_MAX, CHAOS_LINEARIZABILITY_STEPS_MAX } from '../core/limits.js';
import type { RecordedOp } from './history.js';
import { AnomalyList, type CheckOutcome } from './workload.js';

export type RegisterInput =
  | { readonly type: 'read'; readonly key: string }
  | { readonly type: 'write'; readonly key: string; readonly value: string }
  | { readonly type: 'cas'; readonly key: string; readonly expected: string | null; readonly value: string };

export type RegisterOutput = { readonly value: string | null } | { readonly ok: boolean } | Record<string, never>;

export function toCheckOperation(op: RecordedOp): Operation | null {
  const i = op.input as RegisterInput;
  let input: KvInput;
  switch (i.type) {
    case 'read':
      input = { type: 'get', key: i.key };
      break;
    case 'write':
      input = { type: 'put', key: i.key, value: i.value };
      break;
    case 'cas':
      input = { type: 'cas', key: i.key, expected: i.expected, value: i.value };
      break;
    default:
      return null; // another workload's operation (the history may be mixed)
  }
  if (op.outcome === 'fail') return null;
  if (op.outcome === 'info') {
    if (input.type === 'get') return null;
    return { id: op.id, clientId: op.client, input, callTime: op.callMs, returnTime: null, output: null };
  }
  const out = op.output as Record<string, unknown>;
  let output: KvOutput;
  switch (input.type) {
    case 'get':
      output = { type: 'get', value: (out['value'] as string | null) ?? null };
      break;
    case 'put':
      output = { type: 'put' };
      break;
    case 'cas':
      output = { type: 'cas', ok: out['ok'] === true };
      break;
  }
  return { id: op.id, clientId: op.client, input, callTime: op.callMs, returnTime: op.returnMs, output };
}

export function checkRegister(ops: readonly RecordedOp[], o: { readonly stepsMax?: number } = {}): CheckOutcome {
  const byKey = new Map<string, Operation[]>();
  for (const op of ops) {
    const c = toCheckOperation(op);
    if (c === null) continue;
    let list = byKey.get(c.input.key);
    if (list === undefined) byKey.set(c.input.key, (list = []));
    list.push(c);
  }
  const anomalies = new AnomalyList(CHAOS_ANOMALIES_PER_TYPE_MAX);
  const unknown: string[] = [];
  let steps = 0;
  let linearizableKeys = 0;
  for (const [key, list] of [...byKey].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const r = checkHistory({ operations: list }, { stepsMax: o.stepsMax ?? CHAOS_LINEARIZABILITY_STEPS_MAX });
    steps += r.steps;
    switch (r.type) {
      case 'ok':
        linearizableKeys++;
        break;
      case 'violation':
        anomalies.add({
          type: 'linearizability',
          key,
          message: `key ${key}: ${r.window.length === 1 ? 'an operation cannot be explained by any value the key could hold then' : `${r.window.length} operations cannot be put in any order consistent with real time and a register's behaviour`}${r.evidence.length > 0 ? ` (${r.evidence.length} earlier operation(s) show why)` : ''}`,
          // The earlier operations that explain the window (the write a stale read saw, and the
          // write that replaced it) come first: together they are the picture of the anomaly.
          opIds: [...new Set([...r.evidence, ...r.window].sort((a, b) => a.callTime - b.callTime).map((w) => w.id))],
          detail: r.report,
        });
        break;
      case 'unknown':
        unknown.push(`key ${key}: ${r.reason}`);
        break;
    }
  }
  return { anomalies: anomalies.list, notes: anomalies.notes(), unknown, stats: { keys: byKey.size, linearizableKeys, searchSteps: steps } };
}
