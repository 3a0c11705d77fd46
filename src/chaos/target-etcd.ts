/**
 * An etcd cluster (the reference: Debian's etcd-server 3.4) started by the chaos tool or the
 * benchmark script, with the same process and network faults as a Bulwark cluster. Disk failpoints
 * are Bulwark's (BULWARK_FAILPOINTS), so etcd does not get those.
 */
import { existsSync } from 'node:fs';
import { ProcessClusterTarget, type ProcessClusterOptions } from './cluster-target.js';
import type { FaultNeed } from './fault-kinds.js';
import type { SpawnSpec } from './member-process.js';
import type { MemberAddress } from './network-fabric.js';

export const ETCD_BIN_DEFAULT = '/usr/bin/etcd';

export class EtcdTarget extends ProcessClusterTarget {
  readonly kind = 'etcd';
  private readonly token: string;

  constructor(
    o: ProcessClusterOptions,
    private readonly bin: string = ETCD_BIN_DEFAULT,
  ) {
    super(o);
    this.token = `bulwark-chaos-${o.seed}`;
  }

  static available(bin: string = ETCD_BIN_DEFAULT): boolean {
    return existsSync(bin);
  }

  protected unsupportedNeed(need: FaultNeed): string | null {
    return need === 'failpoints' ? 'disk failpoints are a Bulwark feature (BULWARK_FAILPOINTS); etcd has none we can set from outside' : null;
  }

  protected spawnSpec(a: MemberAddress, state: 'new' | 'existing', o: { readonly env?: Readonly<Record<string, string>>; readonly initialCluster?: string }): SpawnSpec {
    return {
      command: this.bin,
      args: [
        `--name=${a.name}`,
        `--data-dir=${this.dataDir(a.name)}`,
        `--listen-client-urls=http://${a.host}:${a.clientPort}`,
        `--advertise-client-urls=http://${a.host}:${a.clientPort}`,
        `--listen-peer-urls=http://${a.host}:${a.peerPort}`,
        `--initial-advertise-peer-urls=http://${a.advertisedPeerHost}:${a.advertisedPeerPort}`,
        `--initial-cluster=${o.initialCluster ?? this.initialCluster()}`,
        `--initial-cluster-state=${state}`,
        `--initial-cluster-token=${this.token}`,
        `--heartbeat-interval=${this.o.heartbeatMs}`,
        `--election-timeout=${this.o.electionMs}`,
        '--logger=zap',
        '--log-outputs=stderr',
        ...(this.o.extraArgs ?? []),
      ],
      ...(o.env === undefined ? {} : { env: o.env }),
      netns: a.netns,
      logFile: this.logFile(a.name),
    };
  }
}
