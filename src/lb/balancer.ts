/**
 * The balancer's state, pure and synchronous: the backends with their health, ejections and load,
 * and the picker built from the ones eligible now. The proxies (TCP, HTTP/1.1, HTTP/2) and the
 * health checkers are adapters around it; time comes from the injected Clock and randomness from the
 * injected Random, so every rule here is tested without sockets or real time.
 *
 * Which backends are eligible, in order:
 *   1. the healthy primaries, if they are at least the panic threshold of all primaries;
 *   2. else, if no primary is healthy, the healthy backups (HAProxy's `backup`);
 *   3. else, if some primary is healthy, every primary: panic mode ignores health (Envoy), because
 *      piling all traffic on the few survivors would take them down too;
 *   4. else (nothing healthy at all), every backend.
 * Healthy means up by the active checks and not ejected by outlier detection. A draining backend is
 * never eligible.
 */
import { assert } from '../core/assert.js';
import type { Clock, Timer } from '../env/clock.js';
import type { Random } from '../env/random.js';
import type { BackendId, BackendLoad, BackendSpec, BackendState, PickableBackend } from './backend.js';
import { OutlierDetector, type OutlierConfig, type Outcome } from './outlier-detector.js';
import type { PickRequest, Picker, Policy } from './policy.js';

export type PoolMode =
  /** Healthy primaries take the traffic. */
  | 'normal'
  /** Every primary is down; the backups take the traffic. */
  | 'backup'
  /** Too few healthy backends: health is ignored. */
  | 'panic'
  /** No backends at all (or all draining). */
  | 'empty';

export interface BackendStats {
  requests: number;
  errors: number;
  retries: number;
  ejections: number;
}

export interface BackendStatus {
  readonly id: BackendId;
  readonly spec: BackendSpec;
  readonly state: BackendState;
  /** True when the current picker may choose it. */
  readonly eligible: boolean;
  readonly active: number;
  readonly healthUp: boolean;
  readonly lastHealthFailure: string;
  readonly ejectedUntilMs: number | null;
  readonly stats: Readonly<BackendStats>;
}

export type BalancerEvent =
  | { readonly type: 'state-changed'; readonly id: BackendId; readonly from: BackendState; readonly to: BackendState; readonly reason: string }
  | { readonly type: 'mode-changed'; readonly from: PoolMode; readonly to: PoolMode }
  /** A removed backend finished draining (or its drain time ran out: `forced`); its connections may be closed. */
  | { readonly type: 'removed'; readonly id: BackendId; readonly forced: boolean };

export interface BalancerOptions {
  readonly policy: Policy;
  readonly random: Random;
  readonly clock: Clock;
  readonly panicThresholdPercent: number;
  readonly outlier: OutlierConfig;
  readonly drainTimeoutMs: number;
  readonly onEvent?: (event: BalancerEvent) => void;
}

interface Entry {
  spec: BackendSpec;
  readonly load: BackendLoad;
  readonly stats: BackendStats;
  healthUp: boolean;
  lastHealthFailure: string;
  draining: boolean;
  drainTimer: Timer | null;
  /** The state last reported, to announce changes. */
  reported: BackendState;
}

export class Balancer {
  private readonly entries = new Map<BackendId, Entry>();
  private order: BackendId[] = [];
  private readonly outliers: OutlierDetector;
  private policy: Policy;
  private panicThresholdPercent: number;
  private drainTimeoutMs: number;
  private picker: Picker | null = null;
  private eligible = new Set<BackendId>();
  private modeNow: PoolMode = 'empty';
  private sweepTimer: Timer;
  private sweepPeriodMs: number;

  constructor(private readonly options: BalancerOptions) {
    this.policy = options.policy;
    this.panicThresholdPercent = options.panicThresholdPercent;
    this.drainTimeoutMs = options.drainTimeoutMs;
    this.outliers = new OutlierDetector(options.outlier);
    this.sweepPeriodMs = options.outlier.intervalMs;
    this.sweepTimer = options.clock.setInterval(() => this.sweep(), this.sweepPeriodMs);
  }

  get mode(): PoolMode {
    return this.modeNow;
  }

  get policyName(): string {
    return this.policy.name;
  }

  close(): void {
    this.sweepTimer.cancel();
    for (const e of this.entries.values()) e.drainTimer?.cancel();
  }

  /**
   * Makes `specs` the configured backends. New ones start up (unless active checks say otherwise
   * later), changed ones take their new weight or role, missing ones start draining.
   */
  setBackends(specs: readonly BackendSpec[]): void {
    const wanted = new Set(specs.map((s) => s.id));
    assert(wanted.size === specs.length, 'backend ids are unique');
    for (const spec of specs) {
      const e = this.entries.get(spec.id);
      if (e === undefined) {
        this.entries.set(spec.id, {
          spec,
          load: { active: 0 },
          stats: { requests: 0, errors: 0, retries: 0, ejections: 0 },
          healthUp: true,
          lastHealthFailure: '',
          draining: false,
          drainTimer: null,
          reported: 'up',
        });
      } else {
        e.spec = spec;
        if (e.draining) {
          // Configured again while draining: back in service.
          e.draining = false;
          e.drainTimer?.cancel();
          e.drainTimer = null;
        }
      }
    }
    for (const [id, e] of this.entries) {
      if (!wanted.has(id) && !e.draining) this.startDraining(id, e);
    }
    this.order = [...specs.map((s) => s.id), ...[...this.entries.keys()].filter((id) => !wanted.has(id))];
    this.outliers.setPool(specs.map((s) => s.id));
    this.rebuild();
  }

  setPolicy(policy: Policy): void {
    this.policy = policy;
    this.picker = null;
    this.rebuild(true);
  }

  setSettings(settings: { panicThresholdPercent: number; outlier: OutlierConfig; drainTimeoutMs: number }): void {
    this.panicThresholdPercent = settings.panicThresholdPercent;
    this.drainTimeoutMs = settings.drainTimeoutMs;
    this.outliers.setConfig(settings.outlier);
    if (settings.outlier.intervalMs !== this.sweepPeriodMs) {
      this.sweepTimer.cancel();
      this.sweepPeriodMs = settings.outlier.intervalMs;
      this.sweepTimer = this.options.clock.setInterval(() => this.sweep(), this.sweepPeriodMs);
    }
    this.rebuild(true);
  }

  /** The active health checker's verdict. */
  setHealth(id: BackendId, up: boolean, reason = ''): void {
    const e = this.entries.get(id);
    if (e === undefined || e.healthUp === up) return;
    e.healthUp = up;
    if (!up) e.lastHealthFailure = reason;
    this.rebuild(false, reason);
  }

  /** How one request (or connection) to `id` ended: feeds outlier detection and the counters. */
  recordOutcome(id: BackendId, outcome: Outcome): void {
    const e = this.entries.get(id);
    if (e === undefined) return;
    e.stats.requests++;
    if (outcome.type !== 'success') e.stats.errors++;
    const ev = this.outliers.record(id, outcome, this.options.clock.nowMs());
    if (ev !== null && ev.type === 'ejected') {
      e.stats.ejections++;
      this.rebuild(false, ev.reason);
    }
  }

  /** Counts a retry sent to `id`. */
  recordRetry(id: BackendId): void {
    const e = this.entries.get(id);
    if (e !== undefined) e.stats.retries++;
  }

  pick(request: PickRequest): BackendId | null {
    return this.picker === null ? null : this.picker.pick(request);
  }

  /** The spec of a configured (or draining) backend. */
  spec(id: BackendId): BackendSpec | null {
    return this.entries.get(id)?.spec ?? null;
  }

  /** True when `id` is configured and not draining (cluster-aware mode routes to the leader directly). */
  inService(id: BackendId): boolean {
    const e = this.entries.get(id);
    return e !== undefined && !e.draining;
  }

  /** A request or connection to `id` starts. */
  acquire(id: BackendId): void {
    const e = this.entries.get(id);
    assert(e !== undefined, `acquire of unknown backend ${id}`);
    e.load.active++;
  }

  /** A request or connection to `id` ended. A draining backend with nothing left in flight is removed. */
  release(id: BackendId): void {
    const e = this.entries.get(id);
    if (e === undefined) return; // removed by a forced drain while this was in flight
    assert(e.load.active > 0, `release of ${id} without acquire`);
    e.load.active--;
    if (e.draining && e.load.active === 0) this.finishDrain(id, e, false);
  }

  activeOf(id: BackendId): number {
    return this.entries.get(id)?.load.active ?? 0;
  }

  status(): BackendStatus[] {
    return this.order.flatMap((id) => {
      const e = this.entries.get(id);
      if (e === undefined) return [];
      return [
        {
          id,
          spec: e.spec,
          state: this.stateOf(id, e),
          eligible: this.eligible.has(id),
          active: e.load.active,
          healthUp: e.healthUp,
          lastHealthFailure: e.lastHealthFailure,
          ejectedUntilMs: this.outliers.ejectedUntilMs(id),
          stats: { ...e.stats },
        },
      ];
    });
  }

  /** Ends ejections whose time is up (runs every outlier interval; tests may call it directly). */
  sweep(): void {
    const events = this.outliers.sweep(this.options.clock.nowMs());
    if (events.length > 0) this.rebuild(false, 'ejection time over');
  }

  private startDraining(id: BackendId, e: Entry): void {
    e.draining = true;
    if (e.load.active === 0) {
      this.finishDrain(id, e, false);
      return;
    }
    e.drainTimer = this.options.clock.setTimeout(() => this.finishDrain(id, e, true), this.drainTimeoutMs);
  }

  private finishDrain(id: BackendId, e: Entry, forced: boolean): void {
    if (this.entries.get(id) !== e || !e.draining) return;
    e.drainTimer?.cancel();
    this.entries.delete(id);
    this.order = this.order.filter((x) => x !== id);
    this.options.onEvent?.({ type: 'removed', id, forced });
  }

  private healthy(id: BackendId, e: Entry): boolean {
    return e.healthUp && !this.outliers.isEjected(id);
  }

  private stateOf(id: BackendId, e: Entry): BackendState {
    if (e.draining) return 'draining';
    if (this.outliers.isEjected(id)) return 'ejected';
    return e.healthUp ? 'up' : 'down';
  }

  private rebuild(force = false, reason = ''): void {
    const primaries: PickableBackend[] = [];
    const backups: PickableBackend[] = [];
    const healthyPrimaries: PickableBackend[] = [];
    const healthyBackups: PickableBackend[] = [];
    for (const id of this.order) {
      const e = this.entries.get(id)!;
      const state = this.stateOf(id, e);
      if (state !== e.reported) {
        this.options.onEvent?.({ type: 'state-changed', id, from: e.reported, to: state, reason });
        e.reported = state;
      }
      if (e.draining) continue;
      const p: PickableBackend = { id, weight: e.spec.weight, load: e.load };
      const healthy = this.healthy(id, e);
      if (e.spec.backup) {
        backups.push(p);
        if (healthy) healthyBackups.push(p);
      } else {
        primaries.push(p);
        if (healthy) healthyPrimaries.push(p);
      }
    }
    let mode: PoolMode;
    let chosen: PickableBackend[];
    if (healthyPrimaries.length > 0 && healthyPrimaries.length * 100 >= this.panicThresholdPercent * primaries.length) {
      mode = 'normal';
      chosen = healthyPrimaries;
    } else if (healthyPrimaries.length === 0 && healthyBackups.length > 0) {
      mode = 'backup';
      chosen = healthyBackups;
    } else if (healthyPrimaries.length > 0) {
      mode = 'panic';
      chosen = primaries;
    } else if (primaries.length + backups.length > 0) {
      mode = 'panic';
      chosen = [...primaries, ...backups];
    } else {
      mode = 'empty';
      chosen = [];
    }
    if (mode !== this.modeNow) {
      this.options.onEvent?.({ type: 'mode-changed', from: this.modeNow, to: mode });
      this.modeNow = mode;
    }
    const same = !force && this.picker !== null && chosen.length === this.eligible.size && chosen.every((b) => this.eligible.has(b.id)) && !this.weightsChanged(chosen);
    if (same) return;
    this.eligible = new Set(chosen.map((b) => b.id));
    this.lastWeights = new Map(chosen.map((b) => [b.id, b.weight]));
    this.picker = chosen.length === 0 ? null : this.policy.build({ backends: chosen, random: this.options.random });
  }

  private lastWeights = new Map<BackendId, number>();

  private weightsChanged(chosen: readonly PickableBackend[]): boolean {
    return chosen.some((b) => this.lastWeights.get(b.id) !== b.weight);
  }
}
