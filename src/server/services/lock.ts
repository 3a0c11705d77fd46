/**
 * v3lockpb.Lock, as etcd's server-side lock: Lock puts `<name>/<lease hex>` with the lease (a new
 * 60 s lease when none is given) and waits until every key under `<name>/` created before it is
 * deleted; the returned key's create revision is the fencing token (compare it in a Txn). Locking
 * again with the same lease returns the same key. Unlock deletes the key. A Lock call cancelled
 * while waiting removes its key, as etcd's does.
 */
import type { GrpcServer } from '../../api/grpc/index.js';
import { LockService } from '../../api/proto/generated/v3lockpb.js';
import { asClientError, deleteKey, releaseInBackground, enqueueHolder, holderKey, sessionLease, waitDeletes, withSlash } from './concurrency.js';
import type { ServiceContext } from './context.js';

export function registerLock(server: GrpcServer, ctx: ServiceContext): void {
  server.handle(LockService.Lock, async (req, call) => {
    try {
      const lease = await sessionLease(ctx, call, req.lease);
      const prefix = withSlash(req.name);
      const key = holderKey(prefix, lease);
      const q = await enqueueHolder(ctx, call, { key, value: new Uint8Array(0), lease, prefix });
      if (q.owner === null || q.owner.createRevision === q.myRevision) return { header: q.header, key };
      try {
        const header = await waitDeletes(ctx, call, prefix, q.myRevision - 1);
        return { header, key };
      } catch (e) {
        // Give up our place in the queue (etcd's Mutex.Lock unlocks on a failed wait).
        if (q.existing === null) releaseInBackground(ctx, key);
        throw e;
      }
    } catch (e) {
      throw asClientError(e);
    }
  });
  server.handle(LockService.Unlock, async (req, call) => {
    try {
      return { header: await deleteKey(ctx, call, req.key) };
    } catch (e) {
      throw asClientError(e);
    }
  });
}
