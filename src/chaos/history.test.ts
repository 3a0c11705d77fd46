import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Recorder, RunClock } from './history.js';

test('the recorder gives strictly increasing times and a new process after an operation in doubt', () => {
  const r = new Recorder(new RunClock(), 4);
  const a = r.invoke(1, 'm1', { type: 'write' });
  const opA = a.info('timeout');
  const b = r.invoke(1, 'm1', { type: 'write' });
  const opB = b.ok({});
  assert.equal(opA.process, 1);
  assert.equal(opB.process, 5, 'Jepsen: the next operation belongs to a new process');
  assert.ok(opA.callMs < opA.returnMs && opA.returnMs < opB.callMs);
  assert.equal(r.lastOutcome(1), 'ok');
  assert.throws(() => b.ok({}), /ended twice/);
});
