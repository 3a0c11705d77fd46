/**
 * etcdserverpb.Watch: one bidirectional stream multiplexing many watchers. The store's WatchStream
 * decides what to send; this adapter pulls from it only while the client's flow-control window is
 * open, so a client that does not read costs a bounded amount of memory (the store then moves its
 * watchers to the unsynced set and they catch up from history later).
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { GrpcServer } from '../../api/grpc/index.js';
import { WatchService, type WatchCreateRequest as PbCreate, type WatchResponseInit } from '../../api/proto/generated/etcdserverpb.js';
import { watchRequest, type WatchResponse } from '../../kv/watch-types.js';
import { ServerError } from '../errors.js';
import type { ServiceContext } from './context.js';

export function registerWatch(server: GrpcServer, ctx: ServiceContext): void {
  server.handle(WatchService.Watch, async (requests, call) => {
    ctx.refuseLearner();
    const stream = ctx.member.kv.openWatchStream();
    let pumping = false;
    let again = false;
    let failed: unknown = null;
    let drained: (() => void) | null = null;
    const pump = async (): Promise<void> => {
      if (pumping) {
        again = true;
        return;
      }
      pumping = true;
      try {
        do {
          again = false;
          for (;;) {
            const r = stream.next();
            if (r === null) {
              if (stream.catchingUp) {
                await yieldToLoop();
                again = true;
              }
              break;
            }
            await call.write(toPb(ctx, r));
          }
        } while (again && !call.cancelled);
      } catch (e) {
        failed = e;
      } finally {
        pumping = false;
        drained?.();
        drained = null;
      }
    };
    stream.onReadable = () => void pump();
    try {
      for await (const req of requests) {
        if (failed !== null) break;
        const u = req.requestUnion;
        if (u === undefined) continue;
        switch (u.type) {
          case 'createRequest':
            stream.create(createFromPb(u.value));
            break;
          case 'cancelRequest':
            stream.cancel(watchIdNumber(u.value.watchId));
            break;
          case 'progressRequest':
            stream.requestProgress();
            break;
        }
        void pump();
        // A client that floods creates without reading answers waits here (bounded queue).
        while (!stream.canAcceptRequests && !call.cancelled && failed === null) {
          await new Promise<void>((resolve) => {
            drained = resolve;
            if (!pumping) void pump();
          });
        }
      }
    } finally {
      stream.close();
    }
  });
}

function watchIdNumber(id: bigint): number {
  if (id < BigInt(Number.MIN_SAFE_INTEGER) || id > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new ServerError('invalid-argument', `watch id ${id} out of range`);
  }
  return Number(id);
}

function createFromPb(c: PbCreate): ReturnType<typeof watchRequest> {
  return watchRequest(c.key.slice(), {
    rangeEnd: c.rangeEnd.slice(),
    startRevision: c.startRevision,
    progressNotify: c.progressNotify,
    noPut: c.filters.includes(0),
    noDelete: c.filters.includes(1),
    prevKv: c.prevKv,
    watchId: watchIdNumber(c.watchId),
    fragment: c.fragment,
  });
}

function toPb(ctx: ServiceContext, r: WatchResponse): WatchResponseInit {
  const header = ctx.header(r.revision);
  const watchId = BigInt(r.watchId);
  switch (r.type) {
    case 'created':
      return { header, watchId, created: true };
    case 'create-refused':
      return { header, watchId, created: true, canceled: true, cancelReason: r.reason };
    case 'events':
      return {
        header,
        watchId,
        fragment: r.fragment,
        events: r.events.map((e) => (e.prevKv === null ? { type: e.type === 'put' ? 0 : 1, kv: e.kv } : { type: e.type === 'put' ? 0 : 1, kv: e.kv, prevKv: e.prevKv })),
      };
    case 'progress':
      return { header, watchId };
    case 'canceled':
      return { header, watchId, canceled: true, compactRevision: r.compactRevision, cancelReason: r.reason };
  }
}
