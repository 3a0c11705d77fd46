import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findSocketInode } from './socket-owner.js';

test('the socket of a connection is found in /proc/net/tcp text', () => {
  const text = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:9C40 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 11111 1 0000000000000000 100 0 0 10 0
   1: 0100007F:D431 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 22222 1 0000000000000000 20 4 30 10 -1`;
  assert.equal(findSocketInode(text, 0xd431, 0x9c40), '22222');
  assert.equal(findSocketInode(text, 0x9c40, 0), '11111');
  assert.equal(findSocketInode(text, 1, 2), null);
});
