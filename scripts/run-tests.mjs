#!/usr/bin/env node
// Runs the compiled test files with node's built-in test runner and ends with one summary line,
// "N passed, N failed". Arguments narrow the run to files whose path contains any of them.
//   node scripts/run-tests.mjs            every test
//   node scripts/run-tests.mjs raft wal   tests whose path mentions raft or wal
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';

const filters = process.argv.slice(2);
function walk(dir, out = []) {
  let names;
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of names) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith('.test.js')) out.push(p);
  }
  return out;
}
const files = [...walk('dist/src'), ...walk('dist/test')]
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error('no test files found (did the build run?)');
  process.exit(1);
}
const concurrency = Number(process.env.TEST_CONCURRENCY ?? Math.max(2, availableParallelism()));
const child = spawn(process.execPath, ['--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', '--test-reporter-destination=stdout', '--test-reporter=tap', '--test-reporter-destination=dist/test-results.tap', ...files], {
  stdio: ['ignore', 'inherit', 'inherit'],
});
child.on('exit', async (code) => {
  const { readFileSync } = await import('node:fs');
  let pass = 0;
  let fail = 0;
  try {
    const tap = readFileSync('dist/test-results.tap', 'utf8');
    pass = Number(/^# pass (\d+)/m.exec(tap)?.[1] ?? 0);
    fail = Number(/^# fail (\d+)/m.exec(tap)?.[1] ?? 0) + Number(/^# cancelled (\d+)/m.exec(tap)?.[1] ?? 0);
  } catch {
    fail = fail || 1;
  }
  console.log(`${pass} passed, ${fail} failed`);
  process.exitCode = code ?? 1;
});
