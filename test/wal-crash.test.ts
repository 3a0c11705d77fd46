// The real crash test: a child process appends through the real write-ahead log on the real disk
// and reports each record only after its fsync; the parent kills it with SIGKILL at random moments,
// many times. After every kill, recovery must return every acknowledged record intact, the newest
// acknowledged hard state (or a newer one), and nothing torn; and it must not mistake a crash for
// corruption.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { bytesEqual } from '../src/core/bytes.js';
import { NodeDisk } from '../src/env/node/disk.js';
import { openWal } from '../src/wal/wal.js';
import { crashRecordData } from './wal-crash-record.js';

const KILLS = 25;
const CHILD = fileURLToPath(new URL('./wal-crash-child.js', import.meta.url));

interface Run {
  readonly acked: Set<number>;
  hsAcked: number;
}

/** Starts the child, lets it append for `runMs` after it is ready, then kills it with SIGKILL. */
function runAndKill(dir: string, runMs: number, run: Run): Promise<{ ready: boolean; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, [CHILD, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    let stderr = '';
    let ready = false;
    const guard = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const [kind, value] = buf.slice(0, nl).split(' ');
        buf = buf.slice(nl + 1);
        if (kind === 'ready' && !ready) {
          ready = true;
          setTimeout(() => child.kill('SIGKILL'), runMs);
        } else if (kind === 'ack') run.acked.add(Number(value));
        else if (kind === 'hs') run.hsAcked = Math.max(run.hsAcked, Number(value));
      }
    });
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', () => {
      clearTimeout(guard);
      resolve({ ready, stderr });
    });
  });
}

test(`real crash test: ${KILLS} SIGKILLs of a process appending through the WAL lose nothing acknowledged`, { timeout: 120_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bulwark-wal-crash-'));
  try {
    const run: Run = { acked: new Set(), hsAcked: 0 };
    let recoveredMax = 0;
    let tornTails = 0;
    // A fixed sequence of run lengths, so a failure is easy to rerun; spread from 30 ms to 400 ms.
    for (let k = 0; k < KILLS; k++) {
      const runMs = 30 + ((k * 149) % 371);
      const { ready, stderr } = await runAndKill(dir, runMs, run);
      assert.ok(ready, `kill ${k}: the child never became ready: ${stderr}`);
      assert.equal(stderr, '', `kill ${k}: the child failed`);
      const { wal, recovered } = await openWal(new NodeDisk(dir), { segmentBytes: 256 * 1024 });
      try {
        assert.equal(recovered.repairUntil, null, `kill ${k}: a crash must not look like corruption`);
        assert.equal(recovered.report.corrupt, false);
        tornTails += recovered.report.events.filter((e) => e.type === 'torn-tail-truncated').length;
        const byIndex = new Map(recovered.entries.map((e) => [e.index as number, e]));
        for (const e of recovered.entries) {
          assert.ok(bytesEqual(e.data, crashRecordData(e.index)), `kill ${k}: record ${e.index} came back damaged`);
        }
        for (const i of run.acked) {
          if (i <= recovered.compactedThrough) continue;
          assert.ok(byIndex.has(i), `kill ${k}: acknowledged record ${i} is missing (log ends at ${recovered.lastIndex})`);
        }
        const hs = recovered.hardState === null ? 0 : Number(new TextDecoder().decode(recovered.hardState));
        assert.ok(hs >= run.hsAcked, `kill ${k}: hard state ${hs} is older than the acknowledged ${run.hsAcked}`);
        recoveredMax = recovered.lastIndex;
      } finally {
        await wal.close();
      }
    }
    assert.ok(run.acked.size > 1000, `${run.acked.size} records acknowledged across the kills`);
    assert.ok(recoveredMax > 1000);
    console.log(`# ${KILLS} kills, ${run.acked.size} acknowledged records, log at ${recoveredMax}, ${tornTails} torn tails cut`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
