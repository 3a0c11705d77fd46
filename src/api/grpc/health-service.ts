/**
 * grpc.health.v1.Health (Check and Watch) over our server. Services default to SERVING; the
 * server sets NOT_SERVING while it has no leader or is shutting down, and watchers hear each change.
 */
import { HealthCheckResponse_ServingStatus, HealthService as HealthMethods } from '../proto/generated/grpc-health-v1.js';
import { GrpcError } from './errors.js';
import type { GrpcServer } from './server.js';
import { Status } from './status.js';

type Listener = (status: number) => void;

export class HealthService {
  private readonly statuses = new Map<string, number>([['', HealthCheckResponse_ServingStatus.SERVING]]);
  private readonly listeners = new Map<string, Set<Listener>>();

  /** Sets the status of `service` ('' is the whole server). */
  setStatus(service: string, status: HealthCheckResponse_ServingStatus): void {
    this.statuses.set(service, status);
    for (const l of this.listeners.get(service) ?? []) l(status);
  }

  status(service: string): number | undefined {
    return this.statuses.get(service);
  }

  register(server: GrpcServer): void {
    server.handle(HealthMethods.Check, (req) => {
      const status = this.statuses.get(req.service);
      if (status === undefined) throw new GrpcError(Status.NOT_FOUND, `unknown service ${req.service}`);
      return { status };
    });
    server.handle(HealthMethods.Watch, async (req, call) => {
      // Send the current status, then every change, until the client goes away. Changes that
      // arrive while a write waits collapse into the latest one (watchers want the state).
      let latest = this.statuses.get(req.service) ?? HealthCheckResponse_ServingStatus.SERVICE_UNKNOWN;
      let sent = -1;
      let wake: (() => void) | undefined;
      const listener: Listener = (s) => {
        latest = s;
        wake?.();
      };
      let set = this.listeners.get(req.service);
      if (set === undefined) this.listeners.set(req.service, (set = new Set()));
      set.add(listener);
      const onAbort = (): void => wake?.();
      call.signal.addEventListener('abort', onAbort);
      try {
        while (!call.cancelled) {
          if (latest !== sent) {
            sent = latest;
            await call.write({ status: sent });
            continue;
          }
          await new Promise<void>((r) => (wake = r));
          wake = undefined;
        }
      } finally {
        set.delete(listener);
        call.signal.removeEventListener('abort', onAbort);
      }
    });
  }
}
