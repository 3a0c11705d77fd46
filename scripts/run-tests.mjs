#!/usr/bin/env node
// Runs the compiled test files with node's built-in test runner and ends with one summary line,
// "N passed, N failed". Arguments narrow the run to files whose path contains any of them.
//   node scripts/run-tests.mjs            every test
//   node scripts/run-tests.mjs raft wal   tests whose path mentions raft or wal
import { execFileSync, spawn } from 'node:child_process';
import { setTimeout, clearTimeout } from 'node:timers';
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
// The whole run is bounded: a test file that hangs (a loop that never yields, a process that never
// exits) must fail the run, not stall it. The runner and everything it starts share one process
// group, so the watchdog, and the cleanup at the end, reach every process a test left behind.
const limitSeconds = Number(process.env.TEST_RUN_LIMIT_S ?? 1800);
const child = spawn(process.execPath, ['--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', '--test-reporter-destination=stdout', '--test-reporter=tap', '--test-reporter-destination=dist/test-results.tap', ...files], {
  stdio: ['ignore', 'inherit', 'inherit'],
  detached: true,
});
let timedOut = false;
const watchdog = setTimeout(() => {
  timedOut = true;
  console.error(`\nthe test run exceeded ${limitSeconds} s; still running:`);
  try {
    console.error(execFileSync('ps', ['-o', 'pid,etimes,args', '-g', String(child.pid)], { encoding: 'utf8' }));
  } catch {
    // ps is only for the report
  }
  killGroup();
}, limitSeconds * 1000);
watchdog.unref();
function killGroup() {
  try {
    process.kill(-child.pid, 'SIGKILL');
    return true;
  } catch {
    return false; // nothing left in the group
  }
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    killGroup();
    process.exit(1);
  });
}
child.on('exit', async (code) => {
  clearTimeout(watchdog);
  if (killGroup()) console.error('processes left behind by the tests were killed');
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
  if (timedOut) fail = Math.max(fail, 1);
  console.log(`${pass} passed, ${fail} failed`);
  process.exitCode = timedOut ? 1 : (code ?? 1);
});
