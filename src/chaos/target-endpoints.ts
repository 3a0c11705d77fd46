/**
 * Endpoints the chaos tool is given (a cluster it did not start): the workloads and checkers run,
 * and the only faults are those the API offers (leadership transfer). Useful to check a deployed
 * cluster's behaviour under its own failures, or to run the workloads with faults injected by hand.
 */
import { ChaosError } from './errors.js';
import { waitHttpHealthy, type ClusterTarget } from './cluster-target.js';
import { needsOf, type FaultKind } from './fault-kinds.js';
import type { ProcessState } from './member-process.js';

export class EndpointsTarget implements ClusterTarget {
  readonly kind = 'endpoints';
  readonly fabric = null;
  readonly members: readonly string[];
  private readonly byName = new Map<string, string>();

  constructor(endpoints: readonly string[]) {
    this.members = endpoints.map((_, i) => `e${i + 1}`);
    endpoints.forEach((e, i) => this.byName.set(`e${i + 1}`, e.replace(/^https?:\/\//, '')));
  }

  endpoint(member: string): string {
    const e = this.byName.get(member);
    if (e === undefined) throw new ChaosError('invalid-options', `no member named ${member}`);
    return e;
  }

  unsupported(k: FaultKind): string | null {
    return needsOf(k).every((n) => n === 'admin') && k !== 'member-replace' ? null : 'the tool did not start these members: only API faults (leader-move) are possible';
  }

  async start(): Promise<void> {
    await Promise.all(this.members.map((m) => this.waitHealthy(m, 10_000)));
  }

  async stop(): Promise<void> {}

  state(_member: string): ProcessState {
    return 'running';
  }

  private refuse(): never {
    throw new ChaosError('unsupported', 'the tool did not start these members');
  }

  kill(): Promise<void> {
    return this.refuse();
  }

  restart(): Promise<void> {
    return this.refuse();
  }

  pause(): void {
    this.refuse();
  }

  resume(): void {
    this.refuse();
  }

  replaceMember(): Promise<void> {
    return this.refuse();
  }

  async waitHealthy(member: string, timeoutMs: number): Promise<void> {
    await waitHttpHealthy({ url: `http://${this.endpoint(member)}/health`, timeoutMs, alive: () => true, what: `endpoint ${this.endpoint(member)}` });
  }

  logFile(): string | null {
    return null;
  }

  async rssBytes(): Promise<number | null> {
    return null;
  }
}
