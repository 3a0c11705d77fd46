/**
 * Active health checking: every backend is probed every interval (with a little jitter so that a
 * large pool is not probed in lockstep), each verdict goes through the backend's rise/fall state
 * machine, and only a change of state reaches the balancer. Time comes from the injected Clock and
 * probes from the injected Probe, so the scheduling is tested without sockets.
 */
import { assertNever } from '../core/assert.js';
import type { Clock, Timer } from '../env/clock.js';
import type { Random } from '../env/random.js';
import type { BackendId, BackendSpec } from './backend.js';
import type { Balancer } from './balancer.js';
import type { HealthSettings } from './config.js';
import { HealthState } from './health-state.js';
import type { Probe, ProbeResult } from './health-probe.js';

interface Target {
  spec: BackendSpec;
  readonly state: HealthState;
  timer: Timer | null;
  inFlight: boolean;
  checks: number;
}

export interface HealthCheckerOptions {
  readonly clock: Clock;
  readonly random: Random;
  readonly balancer: Balancer;
  readonly probe: Probe;
  readonly settings: HealthSettings;
}

export class HealthChecker {
  private readonly targets = new Map<BackendId, Target>();
  private settings: HealthSettings;
  private closed = false;

  constructor(private readonly options: HealthCheckerOptions) {
    this.settings = options.settings;
  }

  /** Checks exactly these backends from now on (new ones at once, removed ones no more). */
  setBackends(specs: readonly BackendSpec[]): void {
    const wanted = new Set(specs.map((s) => s.id));
    for (const [id, t] of this.targets) {
      if (!wanted.has(id)) {
        t.timer?.cancel();
        this.targets.delete(id);
      }
    }
    for (const spec of specs) {
      const t = this.targets.get(spec.id);
      if (t !== undefined) {
        t.spec = spec;
        continue;
      }
      const target: Target = { spec, state: new HealthState(this.settings), timer: null, inFlight: false, checks: 0 };
      this.targets.set(spec.id, target);
      // The first check at once: a backend dead at start-up is found within one timeout.
      this.schedule(target, 0);
    }
  }

  setSettings(settings: HealthSettings): void {
    this.settings = settings;
    for (const t of this.targets.values()) {
      t.state.setThresholds(settings);
      if (settings.check.type === 'none') this.options.balancer.setHealth(t.spec.id, true);
    }
  }

  /** Checks run per backend so far (for tests and the status page). */
  checksOf(id: BackendId): number {
    return this.targets.get(id)?.checks ?? 0;
  }

  close(): void {
    this.closed = true;
    for (const t of this.targets.values()) t.timer?.cancel();
    this.targets.clear();
  }

  private schedule(t: Target, delayMs: number): void {
    if (this.closed) return;
    t.timer = this.options.clock.setTimeout(() => void this.run(t), delayMs);
  }

  private async run(t: Target): Promise<void> {
    if (this.closed || this.targets.get(t.spec.id) !== t) return;
    const { check, timeoutMs, intervalMs } = this.settings;
    if (check.type === 'none') {
      this.schedule(t, intervalMs);
      return;
    }
    t.inFlight = true;
    let result: ProbeResult;
    try {
      result = await this.options.probe(t.spec, check, timeoutMs);
    } catch (e) {
      result = { ok: false, reason: `probe failed: ${String(e)}` };
    }
    t.inFlight = false;
    t.checks++;
    if (this.closed || this.targets.get(t.spec.id) !== t) return;
    const transition = t.state.observe(result);
    switch (transition.type) {
      case 'none':
        break;
      case 'went-down':
        this.options.balancer.setHealth(t.spec.id, false, transition.reason);
        break;
      case 'went-up':
        this.options.balancer.setHealth(t.spec.id, true);
        break;
      default:
        assertNever(transition, 'health transition');
    }
    // Up to 10% jitter, so that checks of many backends spread out over the interval.
    this.schedule(t, intervalMs + this.options.random.int(Math.max(1, Math.floor(intervalMs / 10))));
  }
}
