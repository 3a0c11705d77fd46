/**
 * The network-namespace fabric (Linux, root): each member in its own namespace with a veth on a
 * bridge in the host namespace, where the chaos tool and its clients live. Faults are real packet
 * filters inside the receiving member's namespace:
 *
 * - a cut link a → b is `iptables -A BWCHAOS -s a -j DROP` in b's namespace: b hears nothing from
 *   a, including TCP's acknowledgements of what b sends to a, so b's connections to a stall too —
 *   that is what a one-way packet cut does to TCP;
 * - loss is the same rule with `-m statistic --mode random --probability p`;
 * - delay needs the kernel's netem queueing discipline (`tc qdisc ... netem`), bandwidth its tbf;
 *   they apply to a member's whole egress (peers and clients). Without netem, delay is refused
 *   with a message and the proxy fabric can do it.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { assertNever } from '../core/assert.js';
import { ChaosError } from './errors.js';
import type { LinkCapability, LinkShape, MemberAddress, NetworkFabric } from './network-fabric.js';
import type { DirectedLink } from './partition.js';

const exec = promisify(execFile);
const CHAIN = 'BWCHAOS';

async function run(cmd: string, args: readonly string[]): Promise<string> {
  try {
    const r = await exec(cmd, [...args], { timeout: 10_000 });
    return r.stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new ChaosError('netns', `${cmd} ${args.join(' ')}: ${(err.stderr ?? '').trim() || err.message}`, { cause: e });
  }
}

/** Why the netns fabric cannot run here, or null when it can (root, `ip`, `iptables`). */
export async function netnsUnavailable(): Promise<string | null> {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  for (const [cmd, args] of [
    ['ip', ['-V']],
    ['iptables', ['--version']],
  ] as const) {
    try {
      await exec(cmd, [...args], { timeout: 5000 });
    } catch {
      return `${cmd} is not installed (apt-get install -y iproute2 iptables)`;
    }
  }
  return null;
}

export interface NetnsFabricOptions {
  /** Names and ports of the members; their hosts are assigned here. */
  readonly members: readonly { readonly name: string; readonly clientPort: number; readonly peerPort: number }[];
  /** Distinguishes concurrent runs: the subnet 10.213.<id>.0/24, names bwc<id>-*. In [1, 250]. */
  readonly id: number;
}

export class NetnsFabric implements NetworkFabric {
  readonly kind = 'netns';
  readonly addresses: readonly MemberAddress[];
  private readonly bridge: string;
  private readonly nsOf = new Map<string, string>();
  private readonly ipOf = new Map<string, string>();
  private readonly vethOf = new Map<string, string>();
  private netem = false;
  private tbf = false;
  private created: string[] = [];
  private shaped = false;

  constructor(private readonly o: NetnsFabricOptions) {
    this.bridge = `bwc${o.id}`;
    this.addresses = o.members.map((m, i) => {
      const ns = `bwc${o.id}-${m.name}`;
      const ip = `10.213.${o.id}.${10 + i}`;
      this.nsOf.set(m.name, ns);
      this.ipOf.set(m.name, ip);
      this.vethOf.set(m.name, `bwc${o.id}n${i}`);
      return { name: m.name, host: ip, clientPort: m.clientPort, peerPort: m.peerPort, advertisedPeerHost: ip, advertisedPeerPort: m.peerPort, netns: ns };
    });
  }

  async setup(): Promise<void> {
    await this.teardown(); // leftovers of a run with the same id that did not clean up
    await run('ip', ['link', 'add', this.bridge, 'type', 'bridge']);
    await run('ip', ['addr', 'add', `10.213.${this.o.id}.1/24`, 'dev', this.bridge]);
    await run('ip', ['link', 'set', this.bridge, 'up']);
    let i = 0;
    for (const m of this.o.members) {
      const ns = this.nsOf.get(m.name)!;
      const host = `bwc${this.o.id}h${i}`;
      const inner = this.vethOf.get(m.name)!;
      await run('ip', ['netns', 'add', ns]);
      this.created.push(ns);
      await run('ip', ['link', 'add', host, 'type', 'veth', 'peer', 'name', inner, 'netns', ns]);
      await run('ip', ['link', 'set', host, 'master', this.bridge]);
      await run('ip', ['link', 'set', host, 'up']);
      await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      await run('ip', ['-n', ns, 'addr', 'add', `${this.ipOf.get(m.name)!}/24`, 'dev', inner]);
      await run('ip', ['-n', ns, 'link', 'set', inner, 'up']);
      await run('ip', ['netns', 'exec', ns, 'iptables', '-N', CHAIN]);
      await run('ip', ['netns', 'exec', ns, 'iptables', '-A', 'INPUT', '-j', CHAIN]);
      i++;
    }
    const probeNs = this.created[0]!;
    this.netem = await run('ip', ['netns', 'exec', probeNs, 'tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'delay', '1ms']).then(
      () => true,
      () => false,
    );
    if (this.netem) await run('ip', ['netns', 'exec', probeNs, 'tc', 'qdisc', 'del', 'dev', 'lo', 'root']);
    this.tbf = await run('ip', ['netns', 'exec', probeNs, 'tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'tbf', 'rate', '1mbit', 'burst', '32kbit', 'latency', '400ms']).then(
      () => true,
      () => false,
    );
    if (this.tbf) await run('ip', ['netns', 'exec', probeNs, 'tc', 'qdisc', 'del', 'dev', 'lo', 'root']);
  }

  unsupported(c: LinkCapability): string | null {
    switch (c) {
      case 'cut':
      case 'loss':
        return null;
      case 'delay':
        return this.netem ? null : 'the kernel has no netem queueing discipline (sch_netem): use --network proxy for latency';
      case 'bandwidth':
        return this.tbf ? null : 'the kernel has no tbf queueing discipline: use --network proxy for bandwidth limits';
      case 'reset':
        return 'connection resets are a proxy fault: use --network proxy';
      default:
        return assertNever(c, 'link capability');
    }
  }

  async partition(cuts: readonly DirectedLink[]): Promise<void> {
    await this.flushRules();
    for (const c of cuts) {
      await this.iptables(c.to, ['-A', CHAIN, '-s', this.ipOf.get(c.from)!, '-j', 'DROP']);
    }
  }

  async degrade(s: LinkShape): Promise<void> {
    await this.flushRules();
    if (s.lossPercent > 0) {
      for (const to of this.o.members) {
        for (const from of this.o.members) {
          if (from === to) continue;
          await this.iptables(to.name, ['-A', CHAIN, '-s', this.ipOf.get(from.name)!, '-m', 'statistic', '--mode', 'random', '--probability', String(s.lossPercent / 100), '-j', 'DROP']);
        }
      }
    }
    if (s.delayMs > 0 && this.netem) {
      for (const m of this.o.members) {
        const args = ['netns', 'exec', this.nsOf.get(m.name)!, 'tc', 'qdisc', 'replace', 'dev', this.vethOf.get(m.name)!, 'root', 'netem', 'delay', `${s.delayMs}ms`];
        if (s.jitterMs > 0) args.push(`${s.jitterMs / 2}ms`);
        if (s.bytesPerSecond > 0) args.push('rate', `${Math.max(8, Math.round((s.bytesPerSecond * 8) / 1000))}kbit`);
        await run('ip', args);
      }
      this.shaped = true;
    } else if (s.bytesPerSecond > 0 && this.tbf) {
      for (const m of this.o.members) {
        const kbit = Math.max(8, Math.round((s.bytesPerSecond * 8) / 1000));
        await run('ip', ['netns', 'exec', this.nsOf.get(m.name)!, 'tc', 'qdisc', 'replace', 'dev', this.vethOf.get(m.name)!, 'root', 'tbf', 'rate', `${kbit}kbit`, 'burst', '32kbit', 'latency', '400ms']);
      }
      this.shaped = true;
    }
  }

  async heal(): Promise<void> {
    await this.flushRules();
    if (this.shaped) {
      for (const m of this.o.members) {
        await run('ip', ['netns', 'exec', this.nsOf.get(m.name)!, 'tc', 'qdisc', 'del', 'dev', this.vethOf.get(m.name)!, 'root']).catch(() => {});
      }
      this.shaped = false;
    }
  }

  async teardown(): Promise<void> {
    const existing = await run('ip', ['netns', 'list']).catch(() => '');
    for (const ns of this.nsOf.values()) {
      if (existing.split('\n').some((l) => l.split(' ')[0] === ns)) await run('ip', ['netns', 'del', ns]).catch(() => {});
    }
    this.created = [];
    // Deleting a namespace deletes its veth end and so the host end; the bridge is ours to remove.
    await run('ip', ['link', 'del', this.bridge]).catch(() => {});
  }

  /** Synchronous teardown, for a process exit handler (the process is going away: no awaiting). */
  teardownSync(): void {
    for (const ns of this.nsOf.values()) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore', timeout: 5000 });
      } catch {
        // Not there.
      }
    }
    try {
      execFileSync('ip', ['link', 'del', this.bridge], { stdio: 'ignore', timeout: 5000 });
    } catch {
      // Not there.
    }
  }

  private async flushRules(): Promise<void> {
    for (const m of this.o.members) await this.iptables(m.name, ['-F', CHAIN]);
  }

  private iptables(member: string, args: readonly string[]): Promise<string> {
    return run('ip', ['netns', 'exec', this.nsOf.get(member)!, 'iptables', ...args]);
  }
}
