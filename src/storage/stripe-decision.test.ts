import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  RAID1_TABLE,
  RAID5_TABLE,
  dataCondition,
  decideRaid1,
  decideRaid5,
  mirrorConditions,
  parityCondition,
  raid1Rows,
  raid5Rows,
  type Agreement,
  type BadCopies,
  type ChunkHealth,
  type CopiesCondition,
  type DataCondition,
  type ParityCondition,
  type Purpose,
  type Untried,
} from './stripe-decision.js';

const DATA: DataCondition[] = ['all-ok', 'one-repairable', 'one-absent', 'several-bad'];
const PARITY: ParityCondition[] = ['ok', 'repairable', 'absent', 'not-read'];
const AGREE: Agreement[] = ['agrees', 'disagrees', 'unchecked'];
const PURPOSE: Purpose[] = ['read', 'check', 'repair'];
const HEALTH: ChunkHealth[] = ['ok', 'corrupt', 'unreadable', 'absent'];

test('RAID-5 decision table: every combination of conditions matches exactly one row', () => {
  let cases = 0;
  for (const data of DATA) {
    for (const parity of PARITY) {
      for (const agree of AGREE) {
        for (const purpose of PURPOSE) {
          const rows = raid5Rows({ data, parity, agree, purpose });
          assert.equal(rows.length, 1, `${data}/${parity}/${agree}/${purpose} matches ${rows.length} rows`);
          cases++;
        }
      }
    }
  }
  assert.equal(cases, 4 * 4 * 3 * 3);
});

test('RAID-5 decision table: every row is reachable (no dead rows)', () => {
  const used = new Set<number>();
  for (const data of DATA) for (const parity of PARITY) for (const agree of AGREE) for (const purpose of PURPOSE) {
    used.add(RAID5_TABLE.indexOf(raid5Rows({ data, parity, agree, purpose })[0]!));
  }
  assert.equal(used.size, RAID5_TABLE.length);
});

test('RAID-5 decisions are safe: never serve a bad chunk, never rebuild from bad parity, repair only in read or repair mode', () => {
  for (const data of DATA) for (const parity of PARITY) for (const agree of AGREE) for (const purpose of PURPOSE) {
    const action = raid5Rows({ data, parity, agree, purpose })[0]!.action;
    const where = `${data}/${parity}/${agree}/${purpose} → ${action.type}`;
    if (action.type === 'impossible') continue;
    if (action.type === 'use') assert.ok(data === 'all-ok', `${where}: 'use' only when every data chunk verified`);
    if (action.type === 'use-reconstructed') {
      assert.ok(parity === 'ok' && agree === 'agrees', `${where}: a reconstruction is used only from verified parity and when it matches its checksum`);
      assert.equal(action.repair, data === 'one-repairable' && purpose !== 'check', `${where}: repair exactly when the member is in the array and not in check mode`);
    }
    if (action.type === 'reconstruct') assert.ok(parity === 'ok' && agree === 'unchecked' && (data === 'one-repairable' || data === 'one-absent'), where);
    if (action.type === 'rewrite-parity') assert.ok(purpose === 'repair' && data === 'all-ok', where);
    if (action.type === 'report') assert.equal(purpose, 'check', where);
    if (data === 'several-bad') assert.equal(action.type, 'lost', `${where}: two bad data chunks are beyond one parity`);
    if (action.type === 'lost') assert.ok(data !== 'all-ok', `${where}: verified data is never lost`);
  }
});

test('RAID-5: the decision sequence of a read converges for every chunk health combination', () => {
  // Walk the three steps as stripe-io.ts does, for 2 and 3 data chunks and every health; the
  // read either serves verified bytes or reports loss, and it takes at most three decisions.
  for (const k of [2, 3]) {
    const combos = (n: number): ChunkHealth[][] => (n === 0 ? [[]] : combos(n - 1).flatMap((c) => HEALTH.map((h) => [...c, h])));
    for (const data of combos(k)) {
      for (const parityHealth of HEALTH) {
        if (data.filter((h) => h === 'absent').length + (parityHealth === 'absent' ? 1 : 0) > 1) continue; // the volume has failed
        for (const reconstructionMatches of [true, false]) {
          let parity: ChunkHealth | null = null;
          let agree: Agreement = 'unchecked';
          let steps = 0;
          let outcome = '';
          for (; steps < 4 && outcome === ''; steps++) {
            const a = decideRaid5({ data: dataCondition(data), parity: parityCondition(parity), agree, purpose: 'read' });
            if (a.type === 'read-parity') parity = parityHealth;
            else if (a.type === 'reconstruct') agree = reconstructionMatches ? 'agrees' : 'disagrees';
            else outcome = a.type;
          }
          const bad = data.filter((h) => h !== 'ok').length;
          const expected = bad === 0 ? 'use' : bad === 1 && parityHealth === 'ok' && reconstructionMatches ? 'use-reconstructed' : 'lost';
          assert.equal(outcome, expected, `data ${data} parity ${parityHealth} reconstruction ${reconstructionMatches}`);
          assert.ok(steps <= 3);
        }
      }
    }
  }
});

test('RAID-5: impossible combinations are assertion failures, not silent choices', () => {
  assert.throws(() => decideRaid5({ data: 'one-absent', parity: 'absent', agree: 'unchecked', purpose: 'read' }), /two members out/);
  assert.throws(() => decideRaid5({ data: 'all-ok', parity: 'not-read', agree: 'unchecked', purpose: 'check' }), /reads parity/);
});

test('RAID-1 decision table: every combination matches exactly one row, and every row is reachable', () => {
  const copies: CopiesCondition[] = ['one-ok', 'none-ok'];
  const bad: BadCopies[] = ['none', 'some-repairable', 'only-absent'];
  const untried: Untried[] = ['more', 'no-more'];
  const used = new Set<number>();
  for (const c of copies) for (const b of bad) for (const u of untried) for (const purpose of PURPOSE) {
    const rows = raid1Rows({ copies: c, bad: b, untried: u, purpose });
    assert.equal(rows.length, 1, `${c}/${b}/${u}/${purpose}`);
    used.add(RAID1_TABLE.indexOf(rows[0]!));
  }
  assert.equal(used.size, RAID1_TABLE.length);
});

test('RAID-1: a read tries copies in turn and serves the first verified one, for every health sequence', () => {
  const combos = (n: number): ChunkHealth[][] => (n === 0 ? [[]] : combos(n - 1).flatMap((c) => HEALTH.filter((h) => h !== 'absent').map((h) => [...c, h])));
  for (const n of [1, 2, 3]) {
    for (const healths of combos(n)) {
      const seen: ChunkHealth[] = [];
      let outcome = '';
      while (outcome === '') {
        const a = decideRaid1(mirrorConditions(seen, n - seen.length, 'read'));
        if (a.type === 'read-next') seen.push(healths[seen.length]!);
        else outcome = a.type;
      }
      const firstOk = healths.indexOf('ok');
      if (firstOk < 0) assert.equal(outcome, 'lost', `${healths}`);
      else {
        assert.equal(seen.length, firstOk + 1, 'stops at the first verified copy');
        assert.equal(outcome, firstOk === 0 ? 'use' : 'use-and-repair', `${healths}`);
      }
    }
  }
});
