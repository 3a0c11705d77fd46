/**
 * FOR TESTS ONLY: the interpreter of golden interaction scripts (src/raft/testdata/*.txt), in the
 * manner of etcd's datadriven tests. A script is lines:
 *
 *   # a comment          kept as is
 *   (blank)              kept as is
 *   > command args       a command; its output follows on the next lines
 *   anything else        output of the previous command: replaced by what the run prints
 *
 * `runScript(text)` returns the script with fresh output; the test compares it with the file
 * (REWRITE=1 writes it back). Member ids are the short decimal forms 1, 2, 3...
 */
import { assert, assertNever } from '../core/assert.js';
import { fromUtf8, utf8 } from '../core/bytes.js';
import type { NodeId } from '../core/ids.js';
import type { ConfigChangeOp, ConfigState, Entry, ProposeResult } from '../consensus/types.js';
import { PLANTED_BUGS, snapshotChunkBytesOf, type PlantedBug, type RaftConfig } from './config.js';
import type { RaftMessage } from './messages.js';
import { describeConfigEntry, nodeId, shortId, TestNetwork, type Delivery } from './test-network.js';

const EMPTY_CONFIG: ConfigState = { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };

export function runScript(text: string): string {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const out: string[] = [];
  const ctx: Context = { net: null };
  for (const line of lines) {
    if (line.startsWith('>')) {
      out.push(line);
      const args = line.slice(1).trim().split(/\s+/).filter((a) => a.length > 0);
      try {
        for (const o of run(ctx, args)) out.push(o);
      } catch (e) {
        // Shown in the output, so a golden file that expects success fails with a readable diff.
        out.push(`error: ${e instanceof Error ? e.message : String(e)}`);
      }
    } else if (line === '' || line.startsWith('#')) {
      out.push(line);
    }
  }
  return out.join('\n') + '\n';
}

interface Context {
  net: TestNetwork | null;
}

function run(ctx: Context, args: readonly string[]): string[] {
  const [cmd, ...rest] = args;
  assert(cmd !== undefined, 'empty command');
  if (cmd === 'cluster') {
    ctx.net = makeCluster(rest);
    return [];
  }
  const net = ctx.net;
  assert(net !== null, `${cmd}: no cluster yet`);
  const id = (i: number): NodeId => {
    const a = rest[i];
    assert(a !== undefined && /^\d+$/.test(a), `${cmd}: argument ${i + 1} must be a member id`);
    return nodeId(Number(a));
  };
  const count = (i: number, dflt: number): number => (rest[i] === undefined ? dflt : Number(rest[i]));
  switch (cmd) {
    case 'tick':
      if (rest[0] === 'all') net.tickAll(count(1, 1));
      else net.tick(id(0), count(1, 1));
      return [];
    case 'run':
      // N rounds of: every member ticks once, then the network delivers until quiet.
      for (let i = 0; i < count(0, 1); i++) {
        net.tickAll();
        net.stabilize();
      }
      return [];
    case 'campaign':
      return campaign(net, id(0));
    case 'deliver': {
      // `deliver` runs until the network is quiet; `deliver N` delivers N messages only.
      if (rest[0] === undefined) return net.deliver().map(formatDelivery);
      const out: string[] = [];
      for (let i = 0; i < count(0, 0) && net.queue.length > 0; i++) {
        const m = net.queue.shift()!;
        out.push(formatDelivery({ msg: m, outcome: net.deliverOne(m) }));
      }
      return out;
    }
    case 'elect':
      net.elect(id(0));
      return [`${shortId(id(0))} leads term ${net.engine(id(0)).status().term}`];
    case 'stabilize':
      net.stabilize();
      return [];
    case 'propose':
      return [formatPropose(net.propose(id(0), rest.slice(1).join(' ')))];
    case 'conf':
      return [formatPropose(proposeConf(net, id(0), rest.slice(1)))];
    case 'leave':
      return [formatPropose(submit(net, id(0), () => net.engine(id(0)).proposeConfigChange({ ops: [], context: new Uint8Array(0) })))];
    case 'read': {
      const r = net.engine(id(0)).readIndex(count(1, 0));
      net.processReady(id(0));
      return [r.type === 'pending' ? 'pending' : `rejected ${r.reason}`];
    }
    case 'reads':
      return takeReads(net, id(0));
    case 'transfer': {
      const r = net.engine(id(0)).transferLeadership(id(1));
      net.processReady(id(0));
      return [r.type === 'started' ? 'started' : `rejected ${r.reason}`];
    }
    case 'isolate':
      net.isolate(id(0));
      return [];
    case 'cut':
      net.cut(id(0), id(1));
      return [];
    case 'heal':
      net.heal();
      return [];
    case 'drop':
      return [`dropped ${net.queue.splice(0).length} messages`];
    case 'crash':
      net.crash(id(0));
      return [];
    case 'restart':
      net.restart(id(0));
      net.processReady(id(0));
      return [];
    case 'compact': {
      const meta = net.compact(id(0));
      return [meta === null ? 'nothing to compact' : `snapshot at ${meta.index}/${meta.term}, ${meta.sizeBytes} bytes`];
    }
    case 'add-node':
      net.addNode(id(0), EMPTY_CONFIG);
      return [];
    case 'status':
      return (rest.length > 0 ? rest.map((_, i) => id(i)) : net.ids()).flatMap((n) => formatStatus(net, n));
    case 'log':
      return formatLog(net, id(0));
    case 'applied':
      return [net.node(id(0)).sm.values().join(' ') || '(nothing)'];
    case 'stats': {
      const s = net.engine(id(0)).stats();
      const reasons = Object.keys(s.dropped).sort();
      return reasons.length === 0 ? ['no drops'] : reasons.map((r) => `${r}: ${s.dropped[r]}`);
    }
    case 'check': {
      net.checkLogMatching();
      return net.violations.length === 0 ? ['safe'] : net.violations.map((v) => `VIOLATION ${v}`);
    }
    default:
      throw new Error(`unknown command ${cmd}`);
  }
}

function makeCluster(args: readonly string[]): TestNetwork {
  const opts = new Map(args.map((a) => a.split('=') as [string, string]));
  const flag = (k: string, d: boolean): boolean => (opts.has(k) ? opts.get(k) === 'true' : d);
  const num = (k: string, d: number): number => (opts.has(k) ? Number(opts.get(k)) : d);
  const bug = opts.get('bug');
  assert(bug === undefined || PLANTED_BUGS.includes(bug as PlantedBug), `unknown bug ${bug}`);
  return new TestNetwork({
    voters: num('voters', 3),
    learners: num('learners', 0),
    seed: num('seed', 1),
    configure: (c): RaftConfig => ({
      ...c,
      preVote: flag('prevote', true),
      checkQuorum: flag('checkquorum', true),
      leaseReads: flag('lease', false),
      electionTicks: num('election', 10),
      heartbeatTicks: num('heartbeat', 1),
      snapshotChunkBytes: num('chunk', snapshotChunkBytesOf(c)),
      inflightMessagesMax: num('inflight', c.inflightMessagesMax),
      entriesPerMessageMax: num('batch', c.entriesPerMessageMax),
      ...(bug === undefined ? {} : { plantedBug: bug as PlantedBug }),
    }),
  });
}

/** Ticks a member until its election timeout fires: it asks for (pre-)votes, or wins alone. */
function campaign(net: TestNetwork, id: NodeId): string[] {
  const e = net.engine(id);
  let asked = false;
  net.onReady = (from, rd) => {
    if (from === id && rd.messages.some((m) => m.type === 'voteRequest')) asked = true;
  };
  try {
    for (let i = 0; i < 1000 && !asked && e.status().role !== 'leader'; i++) net.tick(id);
  } finally {
    net.onReady = null;
  }
  const s = e.status();
  return asked || s.role === 'leader' ? [`${shortId(id)} is ${s.role} at term ${s.term}`] : [`${shortId(id)} did not campaign`];
}

function submit(net: TestNetwork, id: NodeId, f: () => ProposeResult): ProposeResult {
  const r = f();
  net.processReady(id);
  return r;
}

function proposeConf(net: TestNetwork, id: NodeId, words: readonly string[]): ProposeResult {
  let joint = false;
  const ops: ConfigChangeOp[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === 'joint') {
      joint = true;
      continue;
    }
    const node = nodeId(Number(words[++i]));
    if (w === 'add-voter' || w === 'add-learner' || w === 'remove') ops.push({ type: w, node });
    else throw new Error(`unknown config op ${w}`);
  }
  const change = joint ? { ops, joint: true, context: utf8('ctx') } : { ops, context: utf8('ctx') };
  return submit(net, id, () => net.engine(id).proposeConfigChange(change));
}

function takeReads(net: TestNetwork, id: NodeId): string[] {
  const n = net.node(id);
  const out = [...n.readStates.map((r) => `read ${r.requestId} at index ${r.index}`), ...n.readsDropped.map((r) => `read ${r} dropped`)];
  n.readStates = [];
  n.readsDropped = [];
  return out.length === 0 ? ['no reads'] : out;
}

function formatPropose(r: ProposeResult): string {
  switch (r.type) {
    case 'accepted':
      return `accepted at ${r.index}/${r.term}`;
    case 'forwarded':
      return `forwarded to ${shortId(r.to)}`;
    case 'rejected':
      return `rejected ${r.reason}` + (r.leader === null ? '' : ` (leader ${shortId(r.leader)})`);
    default:
      return assertNever(r, 'propose result');
  }
}

function ids(list: readonly NodeId[]): string {
  return list.map(shortId).join(',');
}

function formatConfig(c: ConfigState): string {
  let s = `voters=(${ids(c.voters)})`;
  if (c.votersOutgoing.length > 0) s += `&&(${ids(c.votersOutgoing)})`;
  if (c.learners.length > 0) s += ` learners=(${ids(c.learners)})`;
  if (c.learnersNext.length > 0) s += ` learners_next=(${ids(c.learnersNext)})`;
  if (c.autoLeave) s += ' autoleave';
  return s;
}

function formatStatus(net: TestNetwork, id: NodeId): string[] {
  const n = net.node(id);
  if (n.crashed) return [`${shortId(id)}: crashed`];
  const s = n.engine.status();
  const lead = s.leader === null ? '-' : shortId(s.leader);
  const out = [
    `${shortId(id)}: ${s.role} term=${s.term} lead=${lead} commit=${s.commitIndex} applied=${s.appliedIndex} log=[${s.firstIndex},${s.lastIndex}] ${formatConfig(s.config)}`,
  ];
  for (const p of s.progress) {
    if (p.node === id) continue;
    out.push(`  ${shortId(p.node)}: match=${p.match} next=${p.next} ${p.state}${p.isLearner ? ' learner' : ''}`);
  }
  return out;
}

function formatEntry(e: Entry): string {
  switch (e.kind) {
    case 'normal':
      return `${e.index}/${e.term} ${JSON.stringify(fromUtf8(e.data))}`;
    case 'empty':
      return `${e.index}/${e.term} empty`;
    case 'config':
      return `${e.index}/${e.term} config ${describeConfigEntry(e)}`;
    default:
      return assertNever(e.kind, 'entry kind');
  }
}

function formatLog(net: TestNetwork, id: NodeId): string[] {
  const log = net.engine(id).logView();
  const out: string[] = [];
  if (log.firstIndex > 1) out.push(`(snapshot at ${log.firstIndex - 1}/${log.term(log.firstIndex - 1)})`);
  for (let i = log.firstIndex; i <= log.lastIndex; i++) out.push(formatEntry(log.entry(i)!));
  return out.length === 0 ? ['(empty)'] : out;
}

function formatDelivery(d: Delivery): string {
  return `${formatMessage(d.msg)}${d.outcome === 'ok' ? '' : `  -- ${d.outcome}`}`;
}

export function formatMessage(m: RaftMessage): string {
  const head = `${shortId(m.from)}->${shortId(m.to)} ${m.type} t${m.term}`;
  switch (m.type) {
    case 'append': {
      const ents = m.entries.map((e) => `${e.index}/${e.term}`).join(' ');
      return `${head} prev=${m.prevIndex}/${m.prevTerm} commit=${m.commit}${ents.length > 0 ? ` [${ents}]` : ''}`;
    }
    case 'appendResponse':
      return m.reject ? `${head} reject ${m.index} hint=${m.hintIndex}/${m.hintTerm}` : `${head} index=${m.index}`;
    case 'heartbeat':
      return `${head} commit=${m.commit} round=${m.round}`;
    case 'heartbeatResponse':
      return `${head} round=${m.round}`;
    case 'voteRequest':
      return `${head}${m.preVote ? ' pre' : ''}${m.transfer ? ' transfer' : ''} last=${m.lastIndex}/${m.lastTerm}`;
    case 'voteResponse':
      return `${head}${m.preVote ? ' pre' : ''} ${m.granted ? 'granted' : 'rejected'}`;
    case 'snapshot': {
      const c = m.snapshotChunk;
      return `${head} snap=${c.meta.index}/${c.meta.term} offset=${c.offset} len=${c.data?.length ?? 0}${c.last ? ' last' : ''}`;
    }
    case 'snapshotResponse':
      return `${head} snap=${m.index} next=${m.nextOffset}${m.reject ? ' reject' : ''}${m.done ? ' done' : ''}`;
    case 'timeoutNow':
      return head;
    case 'readIndex':
      return `${head} req=${m.requestId}`;
    case 'readIndexResponse':
      return `${head} req=${m.requestId} index=${m.index}${m.reject ? ' reject' : ''}`;
    case 'propose':
      return `${head} ${m.kind} ${m.kind === 'normal' ? JSON.stringify(fromUtf8(m.data)) : ''}`.trimEnd();
    default:
      return assertNever(m, 'raft message');
  }
}
