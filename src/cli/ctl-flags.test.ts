import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CtlError, parseDuration, parseFlags } from './ctl-flags.js';
import { argify, parseCompare, parseTxnScript } from './ctl-txn-parse.js';

test('flags anywhere, --name=value, --name value, booleans, shorthands and --', () => {
  const p = parseFlags(['get', '--prefix', 'k', '-w', 'json', '--limit=2', '--rev', '5', '--', '--not-a-flag'], {
    prefix: { type: 'bool' },
    'write-out': { type: 'string', short: 'w' },
    limit: { type: 'int' },
    rev: { type: 'int' },
  });
  assert.deepEqual(p.args, ['get', 'k']);
  assert.deepEqual(p.flags, { prefix: true, 'write-out': 'json', limit: 2, rev: 5 });
  assert.deepEqual(p.rest, ['--not-a-flag']);
  assert.throws(() => parseFlags(['--bogus'], {}), (e: unknown) => e instanceof CtlError && e.message === 'unknown flag: --bogus');
  assert.throws(() => parseFlags(['--limit', 'x'], { limit: { type: 'int' } }), /invalid argument "x"/);
  assert.equal(parseDuration('1m30s'), 90_000);
  assert.equal(parseDuration('500ms'), 500);
  assert.throws(() => parseDuration('5'), /invalid duration/);
});

test('txn scripts: compares, requests and etcdctl\'s errors', () => {
  assert.deepEqual(argify('put k2 "a b" \'c d\''), ['put', 'k2', 'a b', 'c d']);
  const c = parseCompare('mod("key1") > "0"');
  assert.equal(c.targetUnion?.type, 'modRevision');
  assert.throws(() => parseCompare('bogus'), /malformed comparison: bogus$/);
  assert.throws(() => parseCompare('value("a" = "x"'), /got value\("a"\) {2}""/);
  assert.throws(() => parseCompare('frob("a") = "x"'), /unknown target frob/);
  const s = parseTxnScript('value("a") = "1"\n\nput a 2\nget a --prefix\n\ndel a\n\n');
  assert.equal(s.compares.length, 1);
  assert.deepEqual(s.success.map((o) => o.request?.type), ['requestPut', 'requestRange']);
  assert.deepEqual(s.failure.map((o) => o.request?.type), ['requestDeleteRange']);
  assert.throws(() => parseTxnScript('value("a") = "1"\n\nput a 2\n'), /^CtlError: EOF$|EOF/);
  assert.throws(() => parseTxnScript('\nfrob a\n\n\n'), /invalid txn request: frob a/);
});

test('leading global flags move after the command word', async () => {
  const { moveLeadingGlobalFlags } = await import('./ctl-run.js');
  assert.deepEqual(moveLeadingGlobalFlags(['--endpoints', 'a:1', '-w', 'json', 'get', 'k']), ['get', '--endpoints', 'a:1', '-w', 'json', 'k']);
  assert.deepEqual(moveLeadingGlobalFlags(['--endpoints=a:1', '--hex', 'get', 'k']), ['get', '--endpoints=a:1', '--hex', 'k']);
  assert.deepEqual(moveLeadingGlobalFlags(['get', 'k']), ['get', 'k']);
  assert.deepEqual(moveLeadingGlobalFlags(['--help']), ['--help']);
});
