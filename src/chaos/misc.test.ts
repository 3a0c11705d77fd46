import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseFaultList } from './fault-kinds.js';
import { Recorder, RunClock } from './history.js';
import { describeOp, formatReport, verdictOf } from './report.js';
import { findSocketInode } from './socket-owner.js';
import { escapeXml, renderTimelineHtml } from './timeline-html.js';
import { op } from './test-ops.js';

test('fault lists expand groups and report unknown names', () => {
  assert.deepEqual(parseFaultList('kill,partition').kinds, ['kill', 'partition-halves', 'partition-lone', 'partition-bridge', 'partition-oneway']);
  assert.deepEqual(parseFaultList('none').kinds, []);
  assert.deepEqual(parseFaultList('kill,zap').unknown, ['zap']);
  assert.equal(parseFaultList('all').kinds.length, 13);
});

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

test('the socket of a connection is found in /proc/net/tcp text', () => {
  const text = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:9C40 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 11111 1 0000000000000000 100 0 0 10 0
   1: 0100007F:D431 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 22222 1 0000000000000000 20 4 30 10 -1`;
  assert.equal(findSocketInode(text, 0xd431, 0x9c40), '22222');
  assert.equal(findSocketInode(text, 0x9c40, 0), '11111');
  assert.equal(findSocketInode(text, 1, 2), null);
});

test('the timeline is one HTML file with every operation, the faults and the anomalies, escaped', () => {
  const ops = [op({ id: 1, client: 0, input: { type: 'read', key: '<k>' }, output: { value: 'x&y' }, call: 0, ret: 5 }), op({ id: 2, client: 1, input: { type: 'write', key: 'k', value: '1' }, outcome: 'info', call: 1, ret: 9 })];
  const html = renderTimelineHtml({
    title: 'run <1>',
    members: ['m1', 'm2'],
    ops,
    faults: [{ id: 0, kind: 'kill', description: 'kill -9 m2', members: ['m2'], startMs: 2, endMs: 6, error: null }],
    anomalies: [{ type: 'stale-read', key: 'k', message: 'a & b', opIds: [1], detail: null }],
    durationMs: 10,
    describe: describeOp,
  });
  assert.match(html, /^<!doctype html>/);
  assert.equal((html.match(/<rect [^>]*fill="#(2f9e44|e03131|f59f00)"/g) ?? []).length, 2, 'one bar per operation');
  assert.match(html, /stroke="#000"/, 'the anomaly operation is outlined');
  assert.match(html, /kill -9 m2/);
  assert.ok(!html.includes('<k>') && html.includes('&lt;k&gt;'));
  assert.equal(escapeXml(`<&>"'`), '&lt;&amp;&gt;&quot;&#39;');
});

test('the report states the verdict and lists anomalies with their operations', () => {
  const ops = [op({ id: 7, input: { type: 'read', key: 'k' }, output: { value: '1' }, call: 0, ret: 1 })];
  const anomalies = [{ type: 'stale-read', key: 'k', message: 'read 7 is stale', opIds: [7], detail: null }];
  const text = formatReport({ workload: 'set', target: 'etcd', members: 3, network: 'proxy', durationMs: 1000, seed: 1, reads: 'linearizable', ops, faults: [], skippedFaults: ['disk-slow: no'], anomalies, notes: ['n'], unknown: [], stats: {}, verdict: verdictOf(anomalies, []), files: [] });
  assert.match(text, /INVALID \(1 anomaly\)/);
  assert.match(text, /op 7 client 0/);
  assert.match(text, /skipped disk-slow/);
  assert.equal(verdictOf([], ['x']), 'unknown');
  assert.equal(verdictOf([], []), 'valid');
});
