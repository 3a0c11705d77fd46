/**
 * A Bulwark cluster of real `bulwark serve` processes. The command line is LocalCluster's (the
 * one `bulwark up` and the server's tests use), so the chaos tool starts members exactly as an
 * operator would; in netns mode the 127.0.0.1 addresses in it are replaced by each member's
 * namespace address. The cluster runs Raft or Multi-Paxos (`consensus`). Disk faults go through the server's failpoints (BULWARK_FAILPOINTS, see
 * docs/chaos.md), and a planted bug (`--unsafe-planted-bug NAME`) proves the checkers can fail.
 */
import { spawnSync } from 'node:child_process';
import { BULWARK_MAIN, LocalCluster } from '../server/local-cluster.js';
import { ProcessClusterTarget, type ProcessClusterOptions } from './cluster-target.js';
import type { FaultNeed } from './fault-kinds.js';
import type { SpawnSpec } from './member-process.js';
import type { MemberAddress } from './network-fabric.js';

export interface BulwarkTargetOptions extends ProcessClusterOptions {
  /** The cluster's consensus protocol (`--consensus`; default raft). */
  readonly consensus?: 'raft' | 'paxos';
  /** Started with `--unsafe-planted-bug NAME` (on `plantedBugMembers`, all by default). */
  readonly plantedBug?: string;
  readonly plantedBugMembers?: readonly string[];
  /** Flags for node itself, before the script (the cluster benchmark's `--cpu-prof`). */
  readonly nodeArgs?: readonly string[];
}

/** Whether this build has `bulwark serve` (the server lands separately from the tools). */
export function bulwarkServeAvailable(): boolean {
  const r = spawnSync(process.execPath, [BULWARK_MAIN, 'serve', '--help'], { encoding: 'utf8', timeout: 20_000 });
  return r.status === 0;
}

export class BulwarkTarget extends ProcessClusterTarget {
  readonly kind = 'bulwark';

  constructor(private readonly b: BulwarkTargetOptions) {
    super(b);
  }

  protected unsupportedNeed(_need: FaultNeed): string | null {
    return null;
  }

  private layout(): LocalCluster {
    const bug = this.b.plantedBug;
    const memberArgs: Record<string, readonly string[]> = {};
    if (bug !== undefined) for (const m of this.b.plantedBugMembers ?? this.members) memberArgs[m] = ['--unsafe-planted-bug', bug];
    return new LocalCluster({
      dir: this.o.dir,
      token: `bulwark-chaos-${this.o.seed}`,
      members: this.addresses.map((a) => ({ name: a.name, clientPort: a.clientPort, peerPorts: [a.peerPort], advertisedPeerPorts: [a.advertisedPeerPort] })),
      extraArgs: ['--consensus', this.b.consensus ?? 'raft', '--heartbeat-interval', String(this.o.heartbeatMs), '--election-timeout', String(this.o.electionMs), ...(this.o.extraArgs ?? [])],
      memberArgs,
    });
  }

  protected spawnSpec(a: MemberAddress, state: 'new' | 'existing', o: { readonly env?: Readonly<Record<string, string>>; readonly initialCluster?: string }): SpawnSpec {
    let args = this.layout().argsFor(a.name, state);
    if (o.initialCluster !== undefined) {
      const i = args.indexOf('--initial-cluster');
      if (i >= 0) args[i + 1] = o.initialCluster;
    }
    if (a.netns !== null) {
      // Each port belongs to one member: put that member's address in front of it.
      const hostOfPort = new Map<number, string>();
      for (const m of this.addresses) for (const p of [m.clientPort, m.peerPort, m.advertisedPeerPort]) hostOfPort.set(p, m.host);
      args = args.map((x) => x.replace(/http:\/\/127\.0\.0\.1:(\d+)/g, (all, port: string) => `http://${hostOfPort.get(Number(port)) ?? '127.0.0.1'}:${port}`));
    }
    return {
      command: process.execPath,
      args: [...(this.b.nodeArgs ?? []), BULWARK_MAIN, ...args],
      ...(o.env === undefined ? {} : { env: o.env }),
      netns: a.netns,
      logFile: this.logFile(a.name),
    };
  }
}
