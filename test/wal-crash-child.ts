// Child process of wal-crash.test.ts: appends records through the real write-ahead log on the real
// disk, from several concurrent appenders, and reports each record on stdout only after its fsync.
// The parent kills it with SIGKILL at a random moment.
//
//   node dist/test/wal-crash-child.js <dir>
//
// Output lines: "ready <lastIndex>", "ack <index>", "hs <n>" (hard state n is durable).
import { logIndex, term } from '../src/core/ids.js';
import { NodeDisk } from '../src/env/node/disk.js';
import { openWal } from '../src/wal/wal.js';
import { crashRecordData } from './wal-crash-record.js';

const APPENDERS = 8;
const SEGMENT_BYTES = 256 * 1024;

async function main(): Promise<void> {
  const dir = process.argv[2];
  if (dir === undefined) throw new Error('usage: wal-crash-child <dir>');
  const { wal, recovered } = await openWal(new NodeDisk(dir), { segmentBytes: SEGMENT_BYTES });
  if (recovered.repairUntil !== null || recovered.report.corrupt) throw new Error('the log came back corrupt');
  let next = recovered.lastIndex + 1;
  let hs = recovered.hardState === null ? 0 : Number(new TextDecoder().decode(recovered.hardState));
  process.stdout.write(`ready ${recovered.lastIndex}\n`);
  const appender = async (): Promise<void> => {
    for (;;) {
      const index = next++;
      wal.append([{ index: logIndex(index), term: term(1), kind: 'normal', data: crashRecordData(index) }], false);
      let hsNow: number | null = null;
      if (index % 7 === 0) {
        hsNow = ++hs;
        wal.setHardState(new TextEncoder().encode(String(hsNow)));
      }
      await wal.sync();
      process.stdout.write(hsNow === null ? `ack ${index}\n` : `ack ${index}\nhs ${hsNow}\n`);
      if (index % 1000 === 0 && index > 600) await wal.compact(logIndex(index - 500));
    }
  };
  await Promise.all(Array.from({ length: APPENDERS }, appender));
}

main().catch((e: unknown) => {
  process.stderr.write(`wal-crash-child: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
