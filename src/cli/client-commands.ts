/** The etcdctl-like client commands, registered together in commands.ts. */
import type { Command } from './command.js';
import { alarmCommand } from './cmd-alarm.js';
import { compactionCommand } from './cmd-compaction.js';
import { delCommand } from './cmd-del.js';
import { electCommand } from './cmd-elect.js';
import { endpointCommand } from './cmd-endpoint.js';
import { getCommand } from './cmd-get.js';
import { leaseCommand } from './cmd-lease.js';
import { lockCommand } from './cmd-lock.js';
import { memberCommand } from './cmd-member.js';
import { moveLeaderCommand } from './cmd-move-leader.js';
import { putCommand } from './cmd-put.js';
import { snapshotCommand } from './cmd-snapshot.js';
import { txnCommand } from './cmd-txn.js';
import { watchCommand } from './cmd-watch.js';

export const CLIENT_COMMANDS: readonly Command[] = [
  getCommand,
  putCommand,
  delCommand,
  txnCommand,
  watchCommand,
  leaseCommand,
  memberCommand,
  endpointCommand,
  snapshotCommand,
  moveLeaderCommand,
  compactionCommand,
  alarmCommand,
  lockCommand,
  electCommand,
];
