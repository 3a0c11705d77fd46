/**
 * Service discovery: an instance registers `<prefix><service>/<instance id>` under a lease it
 * keeps alive, so a crashed instance disappears by itself; clients list a service's instances and
 * watch the set change.
 */
import type { BulwarkClient } from '../client.js';
import { text } from '../kv.js';
import type { Lease } from '../lease.js';

export const SERVICES_PREFIX_DEFAULT = 'services/';

export interface Registration {
  readonly key: string;
  readonly lease: Lease;
  /** Changes what the instance advertises. */
  update(value: string): Promise<void>;
  /** Deregisters (revokes the lease). */
  close(): Promise<void>;
}

export async function registerInstance(client: BulwarkClient, o: { service: string; id: string; value: string; ttlSeconds?: number; prefix?: string }): Promise<Registration> {
  const key = `${o.prefix ?? SERVICES_PREFIX_DEFAULT}${o.service}/${o.id}`;
  const lease = await client.lease(o.ttlSeconds ?? 10);
  await client.put(key, o.value, { lease: lease.id, idempotent: true });
  return {
    key,
    lease,
    update: async (value: string) => {
      await client.put(key, value, { lease: lease.id, idempotent: true });
    },
    close: () => lease.revoke(),
  };
}

/** Instance id -> advertised value. */
export type Instances = ReadonlyMap<string, string>;

export async function listInstances(client: BulwarkClient, service: string, o: { prefix?: string } = {}): Promise<{ instances: Instances; revision: number }> {
  const prefix = `${o.prefix ?? SERVICES_PREFIX_DEFAULT}${service}/`;
  const r = await client.get(prefix, { prefix: true });
  const instances = new Map<string, string>();
  for (const kv of r.kvs) instances.set(text(kv.key).slice(prefix.length), text(kv.value));
  return { instances, revision: r.header?.revision ?? 0 };
}

/** The instance set now, then after every change. Survives member failures and compaction. */
export async function* watchInstances(client: BulwarkClient, service: string, o: { prefix?: string; signal?: AbortSignal } = {}): AsyncGenerator<Instances> {
  const prefix = `${o.prefix ?? SERVICES_PREFIX_DEFAULT}${service}/`;
  while (o.signal?.aborted !== true) {
    const { instances, revision } = await listInstances(client, service, o);
    const current = new Map(instances);
    yield new Map(current);
    const w = client.watch(prefix, { prefix: true, startRevision: revision + 1, ...(o.signal === undefined ? {} : { signal: o.signal }) });
    try {
      for await (const item of w) {
        if (item.type === 'compacted') break; // list again
        if (item.type !== 'events') continue;
        for (const e of item.events) {
          const id = text(e.kv!.key).slice(prefix.length);
          if (e.type === 1) current.delete(id);
          else current.set(id, text(e.kv!.value));
        }
        yield new Map(current);
      }
    } finally {
      w.close();
    }
  }
}
