/**
 * Golden interaction scripts (src/paxos/testdata/*.txt), in the style of etcd-io/raft's datadriven
 * tests: each block is a command, a line `----`, and the output it must print. `REWRITE=1` rewrites
 * the expected outputs from what the engine does now; review the diff before committing it.
 *
 * Commands (members are n1, n2, …):
 *   cluster members=3 [learners=0] [seed=1] [q1=N] [q2=N] [bug=NAME] [checkquorum=off]
 *   elect | stabilize [quiet] | deliver [count] | tick [member] [times=1] | run [times=1]
 *   propose MEMBER TEXT | add-voter MEMBER NEW | add-learner MEMBER NEW | remove MEMBER OLD
 *   read MEMBER ID | transfer MEMBER TARGET | snapshot MEMBER
 *   crash MEMBER | restart MEMBER | isolate MEMBER | cut A B | heal | drop [type=T] [from=M] [to=M]
 *   status | executed MEMBER | check
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { utf8 } from '../core/bytes.js';
import type { NodeId } from '../core/ids.js';
import type { Entry, ProposeResult } from '../consensus/types.js';
import { ballotOwnedBy, ballotRound } from './ballot.js';
import { type PaxosPlantedBug } from './config.js';
import { simpleConfig } from './membership.js';
import type { PaxosMessage } from './messages.js';
import { PaxosTestNetwork, memberId } from './test-network.js';

const DIR = fileURLToPath(new URL('../../../src/paxos/testdata/', import.meta.url));

interface Block {
  /** Comment lines just above the command. */
  readonly comments: readonly string[];
  readonly command: string;
  readonly expected: string;
}

function parse(text: string): Block[] {
  const lines = text.split('\n');
  const blocks: Block[] = [];
  let comments: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    if (line.trim() === '') {
      i++;
      continue;
    }
    if (line.startsWith('#')) {
      comments.push(line);
      i++;
      continue;
    }
    const command = line;
    assert.equal(lines[i + 1], '----', `a line "----" after "${command}"`);
    i += 2;
    const out: string[] = [];
    while (i < lines.length && lines[i] !== '') out.push(lines[i++]!);
    blocks.push({ comments, command, expected: out.join('\n') });
    comments = [];
  }
  return blocks;
}

class Interpreter {
  private net: PaxosTestNetwork | null = null;

  private get n(): PaxosTestNetwork {
    assert.ok(this.net !== null, 'start with "cluster"');
    return this.net;
  }

  private name(id: NodeId): string {
    return `n${Number.parseInt(id, 16)}`;
  }

  private id(name: string | undefined): NodeId {
    assert.ok(name !== undefined && /^n\d+$/.test(name), `a member name like n1, got ${name}`);
    return memberId(Number(name.slice(1)));
  }

  private ballot(b: number): string {
    if (b === 0) return '0';
    const owner = this.n.ids.find((id) => ballotOwnedBy(b as never, id));
    return `${ballotRound(b as never)}.${owner === undefined ? '?' : this.name(owner)}`;
  }

  private entries(es: readonly Entry[]): string {
    const one = (e: Entry): string => `${e.index}${e.kind === 'empty' ? ':noop' : e.kind === 'config' ? ':conf' : ':' + new TextDecoder().decode(e.data)}`;
    if (es.length <= 6) return `[${es.map(one).join(' ')}]`;
    return `[${es.slice(0, 2).map(one).join(' ')} … ${one(es[es.length - 1]!)}] (${es.length})`;
  }

  describe(m: PaxosMessage): string {
    const head = `${this.name(m.from)}->${this.name(m.to)} ${m.type}`;
    switch (m.type) {
      case 'prepare':
        return `${head} b=${this.ballot(m.ballot)} from=${m.fromSlot}${m.transfer ? ' transfer' : ''}`;
      case 'promise':
        return `${head} b=${this.ballot(m.ballot)} from=${m.fromSlot} ${this.entries(m.entries)}${m.complete ? '' : ' more'} commit=${m.commit}`;
      case 'nack':
        return `${head} b=${this.ballot(m.ballot)} promised=${this.ballot(m.promised)}`;
      case 'accept':
        return `${head} b=${this.ballot(m.ballot)} ${this.entries(m.entries)} commit=${m.commit}`;
      case 'accepted':
        return `${head} b=${this.ballot(m.ballot)} slots=${m.fromSlot}..${m.throughSlot} commit=${m.commit}`;
      case 'heartbeat':
        return `${head} b=${this.ballot(m.ballot)} commit=${m.commit} round=${m.round}`;
      case 'heartbeat-ack':
        return `${head} b=${this.ballot(m.ballot)} round=${m.round} commit=${m.commit}/${m.leaderCommit}`;
      case 'decided':
        return `${head} b=${this.ballot(m.ballot)} ${this.entries(m.entries)}`;
      case 'decided-ack':
        return `${head} commit=${m.commit}`;
      case 'snapshot':
        return `${head} index=${m.snapshotChunk.meta.index} offset=${m.snapshotChunk.offset}${m.snapshotChunk.last ? ' last' : ''}`;
      case 'snapshot-ack':
        return `${head} index=${m.index} next=${m.nextOffset} ${m.ok ? 'ok' : 'retry'}`;
      case 'forward':
        return `${head} ${m.data.length} ${m.kind}`;
      case 'read-index':
        return `${head} id=${m.requestId}`;
      case 'read-index-resp':
        return `${head} id=${m.requestId} index=${m.index} ${m.ok ? 'ok' : 'dropped'}`;
      case 'timeout-now':
        return `${head} b=${this.ballot(m.ballot)}`;
      case 'catchup':
        return `${head} commit=${m.commit}`;
    }
  }

  private result(r: ProposeResult): string {
    switch (r.type) {
      case 'accepted':
        return `accepted slot=${r.index} b=${this.ballot(r.term)}`;
      case 'forwarded':
        return `forwarded to ${this.name(r.to)}`;
      case 'rejected':
        return `rejected ${r.reason}`;
    }
  }

  /** Delivers up to `max` messages, printing each; returns the lines. */
  private deliver(max: number, quiet: boolean): string[] {
    const n = this.n;
    const out: string[] = [];
    for (const id of n.ids) n.process(id);
    let count = 0;
    while (n.queue.length > 0 && count < max) {
      const m = n.queue[0]!;
      const lost = !n.reachable(m);
      if (!quiet) out.push(this.describe(m) + (lost ? ' (lost)' : ''));
      n.deliverAt(0);
      count++;
    }
    if (quiet) out.push(`${count} messages`);
    return out;
  }

  run(command: string): string {
    const [cmd, ...args] = command.trim().split(/\s+/);
    const kv = Object.fromEntries(args.filter((a) => a.includes('=')).map((a) => a.split('=') as [string, string]));
    const pos = args.filter((a) => !a.includes('='));
    switch (cmd) {
      case 'cluster': {
        const bug = kv.bug as PaxosPlantedBug | undefined;
        this.net = new PaxosTestNetwork({
          members: Number(kv.members ?? 3),
          learners: Number(kv.learners ?? 0),
          seed: Number(kv.seed ?? 1),
          config: {
            ...(kv.q1 ? { phase1QuorumSize: Number(kv.q1) } : {}),
            ...(kv.q2 ? { phase2QuorumSize: Number(kv.q2) } : {}),
            ...(bug ? { plantedBug: bug } : {}),
            ...(kv.checkquorum === 'off' ? { checkQuorum: false } : {}),
          },
        });
        return this.n.ids.map((id) => `${this.name(id)}=${id}`).join('\n');
      }
      case 'elect': {
        const l = this.n.electLeader();
        return `leader ${this.name(l)} b=${this.ballot(this.n.engine(l).status().term)}`;
      }
      case 'stabilize':
        return this.deliver(Number.MAX_SAFE_INTEGER, pos[0] === 'quiet').join('\n') || 'no messages';
      case 'deliver':
        return this.deliver(Number(pos[0] ?? 1), false).join('\n') || 'no messages';
      case 'tick': {
        const times = Number(kv.times ?? 1);
        if (pos[0] === undefined) this.n.tickAll(times);
        else
          for (let t = 0; t < times; t++) {
            this.n.engine(this.id(pos[0])).tick();
            this.n.process(this.id(pos[0]));
          }
        return `${this.n.queue.length} queued`;
      }
      case 'run': {
        // Ticks every member and delivers everything after each tick: time passing on a healthy network.
        const times = Number(kv.times ?? 1);
        let delivered = 0;
        for (let t = 0; t < times; t++) {
          this.n.tickAll(1);
          delivered += this.n.stabilize();
        }
        return `${delivered} messages`;
      }
      case 'propose':
        return this.after(this.result(this.n.engine(this.id(pos[0])).propose(utf8(pos.slice(1).join(' ')))), pos[0]);
      case 'add-voter':
      case 'add-learner':
      case 'remove': {
        const node = this.id(pos[1]);
        if (cmd !== 'remove' && !this.n.members.has(node)) this.n.addMember(node, simpleConfig([]));
        const r = this.n.engine(this.id(pos[0])).proposeConfigChange({ ops: [{ type: cmd, node }], context: utf8(pos[1]!) });
        return this.after(this.result(r), pos[0]);
      }
      case 'read': {
        const r = this.n.engine(this.id(pos[0])).readIndex(Number(pos[1]));
        return this.after(r.type === 'pending' ? 'pending' : `rejected ${r.reason}`, pos[0]);
      }
      case 'transfer': {
        const r = this.n.engine(this.id(pos[0])).transferLeadership(this.id(pos[1]));
        return this.after(r.type === 'started' ? 'started' : `rejected ${r.reason}`, pos[0]);
      }
      case 'snapshot': {
        const meta = this.n.snapshot(this.id(pos[0]));
        return `snapshot index=${meta.index} bytes=${meta.sizeBytes}`;
      }
      case 'crash':
        this.n.crash(this.id(pos[0]));
        return 'ok';
      case 'restart':
        this.n.restart(this.id(pos[0]));
        return 'ok';
      case 'isolate':
        this.n.isolate(this.id(pos[0]));
        return 'ok';
      case 'cut':
        this.n.cut(this.id(pos[0]), this.id(pos[1]));
        return 'ok';
      case 'heal':
        this.n.heal();
        return 'ok';
      case 'drop': {
        const dropped = this.n.drop((m) => (kv.type === undefined || m.type === kv.type) && (kv.from === undefined || m.from === this.id(kv.from)) && (kv.to === undefined || m.to === this.id(kv.to)));
        return `dropped ${dropped}`;
      }
      case 'status':
        return this.n.ids
          .map((id) => {
            const m = this.n.member(id);
            if (!m.up) return `${this.name(id)}: down`;
            const s = m.engine.status();
            return `${this.name(id)}: ${s.role} b=${this.ballot(s.term)} leader=${s.leader === null ? '-' : this.name(s.leader)} commit=${s.commitIndex} applied=${s.appliedIndex} last=${s.lastIndex} voters=${s.config.voters.map((v) => this.name(v)).join(',')}`;
          })
          .join('\n');
      case 'executed': {
        const m = this.n.member(this.id(pos[0]));
        const list = m.executed.map((e) => `${e.index}${e.kind === 'empty' ? ':noop' : e.kind === 'config' ? ':conf' : ':' + new TextDecoder().decode(e.data)}`);
        const reads = [...m.readStates.map((r) => `read ${r.requestId}@${r.index}`), ...m.readsDropped.map((id) => `read ${id} dropped`)];
        return [list.join(' ') || '(nothing)', ...reads].join('\n');
      }
      case 'check':
        return `chosen: ${this.n.chosenConflict() ?? 'one value per slot'}\nexecuted: ${this.n.executedConflict() ?? 'prefixes agree'}`;
      default:
        throw new Error(`unknown command ${cmd}`);
    }
  }

  /** Processes the member after an input so its Ready (and messages) are queued. */
  private after(text: string, member: string | undefined): string {
    this.n.process(this.id(member));
    return text;
  }
}

const files = readdirSync(DIR).filter((f) => f.endsWith('.txt')).sort();

test('there are interaction scripts', () => {
  assert.ok(files.length >= 4, `found ${files.length}`);
});

for (const file of files) {
  test(`interaction ${file}`, () => {
    const path = join(DIR, file);
    const blocks = parse(readFileSync(path, 'utf8'));
    const it = new Interpreter();
    const actual = blocks.map((b) => it.run(b.command));
    if (process.env.REWRITE === '1') {
      const text = blocks.map((b, i) => [...b.comments, b.command, '----', actual[i]!].join('\n')).join('\n\n') + '\n';
      writeFileSync(path, text);
      return;
    }
    for (let i = 0; i < blocks.length; i++) assert.equal(actual[i], blocks[i]!.expected, `${file}: "${blocks[i]!.command}"`);
  });
}
