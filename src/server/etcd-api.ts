/**
 * The rest of etcd's API on a member, mounted through BulwarkServer's `extend` hook: the Lock,
 * Election and Auth services next to the core ones, and the JSON gateway on the client port.
 */
import type { ServerOptions } from './server.js';
import { createGateway } from './gateway.js';
import { registerAuth } from './services/auth.js';
import { registerElection } from './services/election.js';
import { registerLock } from './services/lock.js';

export function etcdApiExtension(o: { readonly maxRequestBytes: number }): NonNullable<ServerOptions['extend']> {
  return ({ grpc, ctx }) => {
    registerLock(grpc, ctx);
    registerElection(grpc, ctx);
    registerAuth(grpc, ctx);
    return { gateway: createGateway({ grpc, maxRequestBytes: o.maxRequestBytes }) };
  };
}
