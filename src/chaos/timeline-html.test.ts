import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeOp } from './report.js';
import { op } from './test-ops.js';
import { escapeXml, renderTimelineHtml } from './timeline-html.js';

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
