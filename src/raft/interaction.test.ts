/**
 * Golden interaction scripts (src/raft/testdata/*.txt): each is run and its output compared with
 * the file. `REWRITE=1 node scripts/run-tests.mjs raft` writes fresh output back; review the diff.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runScript } from './interaction.js';

// The scripts stay in the source tree; from dist/src/raft this is src/raft/testdata.
const dir = fileURLToPath(new URL('../../../src/raft/testdata/', import.meta.url));
const rewrite = process.env['REWRITE'] === '1';

for (const name of readdirSync(dir).filter((f) => f.endsWith('.txt')).sort()) {
  test(`interaction script ${name}`, () => {
    const path = dir + name;
    const expected = readFileSync(path, 'utf8');
    const actual = runScript(expected);
    if (rewrite) {
      writeFileSync(path, actual);
      return;
    }
    assert.equal(actual, expected, `${name}: output differs (REWRITE=1 to accept after review)`);
  });
}
