// The recovery decision tables are total and unambiguous: every combination of facts matches
// exactly one row. (TigerBeetle's habit: a table, and a test that enumerates every case.)
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { decide, rowMatches } from './decision-table.js';
import { SEGMENT_RECOVERY_TABLE, allSegmentFacts } from './wal-recovery-table.js';
import { STORAGE_RECOVERY_TABLE, allStorageFacts } from './storage-recovery-table.js';

test('segment recovery table: every combination of facts matches exactly one row', () => {
  const all = allSegmentFacts();
  assert.equal(all.length, 2 * 3 * 2 * 2 * 3 * 2);
  const used = new Set<string>();
  for (const facts of all) {
    const hits = SEGMENT_RECOVERY_TABLE.filter((r) => rowMatches(r.when, facts));
    assert.equal(hits.length, 1, `facts ${JSON.stringify(facts)} match ${hits.map((h) => h.id).join(', ') || 'no row'}`);
    used.add(decide(SEGMENT_RECOVERY_TABLE, facts).id);
  }
  assert.deepEqual([...used].sort(), SEGMENT_RECOVERY_TABLE.map((r) => r.id).sort(), 'every row is reachable from some facts');
});

test('storage recovery table: every combination of facts matches exactly one row', () => {
  const all = allStorageFacts();
  assert.equal(all.length, 2 * 2 * 3);
  const used = new Set<string>();
  for (const facts of all) {
    const hits = STORAGE_RECOVERY_TABLE.filter((r) => rowMatches(r.when, facts));
    assert.equal(hits.length, 1, `facts ${JSON.stringify(facts)} match ${hits.map((h) => h.id).join(', ') || 'no row'}`);
    used.add(decide(STORAGE_RECOVERY_TABLE, facts).id);
  }
  assert.deepEqual([...used].sort(), STORAGE_RECOVERY_TABLE.map((r) => r.id).sort());
});

test('no row ever silently drops committed data: corruption rows cut and repair, never truncate', () => {
  for (const facts of allSegmentFacts()) {
    const row = decide(SEGMENT_RECOVERY_TABLE, facts);
    if (facts.body === 'corrupt' || (facts.header === 'invalid' && facts.committed)) {
      assert.ok(row.action.startsWith('corrupt-') || row.action === 'impossible', `${row.id} handles damage to committed data as corruption`);
    }
    if (row.action === 'truncate-tail' || row.action === 'rewrite-header') {
      assert.equal(facts.successor, 'none', `${row.id}: only the last segment may lose a torn tail`);
    }
  }
});

test('docs/storage.md prints every row of both tables', () => {
  const doc = readFileSync('docs/storage.md', 'utf8');
  for (const row of [...SEGMENT_RECOVERY_TABLE, ...STORAGE_RECOVERY_TABLE]) assert.ok(doc.includes(`\`${row.id}\``), `docs/storage.md lacks row ${row.id}`);
});
