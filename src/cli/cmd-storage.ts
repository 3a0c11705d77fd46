/**
 * `bulwark storage check`: what recovery would find in a data directory, without changing it. Reads
 * the meta file, checks every snapshot in full, and plans the write-ahead log's recovery (which row
 * of the decision table each segment falls under, what would be cut or quarantined). Exit code 0
 * when the directory is clean, 1 when recovery would find damage, 2 on a usage error.
 */
import { parseArgs } from 'node:util';
import { UsageError, type Command } from './command.js';
import { NodeDisk } from '../env/node/disk.js';
import { errorMessage } from '../core/errors.js';
import { DATA_DIR_META_FILE, decodeDataDirMeta, inspectSnapshots, inspectWal } from '../wal/index.js';

const USAGE = `bulwark storage check: inspect a member's data directory without changing it

Usage:
  bulwark storage check --data-dir DIR [--json]

Prints the data directory's identity, every snapshot (checked in full), and what recovery would do
with each write-ahead log segment. Exit code 0: clean; 1: recovery would find damage.`;

export const storageCheckCommand: Command = {
  name: 'storage check',
  summary: 'inspect a data directory: identity, snapshots, and what recovery would do (read-only)',
  usage: USAGE,
  async run(args) {
    const { values } = parseArgs({ args: [...args], options: { 'data-dir': { type: 'string' }, json: { type: 'boolean', default: false } }, strict: true, allowPositionals: false });
    const dir = values['data-dir'];
    if (dir === undefined) throw new UsageError('--data-dir is required');
    const disk = new NodeDisk(dir);
    let meta: string;
    let metaOk = true;
    try {
      const m = (await disk.stat(DATA_DIR_META_FILE)) === null ? null : decodeDataDirMeta(await disk.readFile(DATA_DIR_META_FILE), disk.name);
      meta = m === null ? 'no meta file' : `cluster ${m.clusterId}, member ${m.memberId}, ${m.protocol}, format ${m.formatVersion}`;
    } catch (e) {
      meta = errorMessage(e);
      metaOk = false;
    }
    const snapshots = await inspectSnapshots(disk);
    const wal = await inspectWal(disk);
    const damaged = !metaOk || wal.report.corrupt || snapshots.some((s) => s.problem !== null);
    if (values.json) {
      process.stdout.write(JSON.stringify({ dataDir: disk.name, meta, snapshots, wal, damaged }, null, 2) + '\n');
      return damaged ? 1 : 0;
    }
    const out: string[] = [`data directory ${disk.name}`, `  meta: ${meta}`, `snapshots (${snapshots.length}):`];
    for (const s of snapshots) out.push(`  ${s.name}: ${s.problem === null ? `ok, ${s.sizeBytes} bytes` : `DAMAGED: ${s.problem}`}`);
    out.push(`write-ahead log: ${wal.report.segments} segments, ${wal.report.bytesScanned} bytes, ${wal.entries} entries, last index ${wal.lastIndex}, compacted through ${wal.compactedThrough}`);
    for (const d of wal.report.decisions) out.push(`  ${d.name}: ${d.batches} batches, row ${d.row} -> ${d.action}`);
    for (const e of wal.report.events) out.push(`  event: ${JSON.stringify(e)}`);
    if (wal.repairUntil !== null) out.push(`  the member would not vote until its log reaches index ${wal.repairUntil} again (repair from peers)`);
    out.push(damaged ? 'DAMAGED: recovery would raise the CORRUPT alarm' : 'clean');
    process.stdout.write(out.join('\n') + '\n');
    return damaged ? 1 : 0;
  },
};
