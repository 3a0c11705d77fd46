/**
 * etcdserverpb.Auth while authentication is not enabled (it never is yet: users, roles and tokens
 * are a separate piece of work). The answers are etcd 3.4's for a cluster with no users and no
 * roles: enabling needs a root user, authenticating is refused, lists are empty, a named user or
 * role is not found. The one difference: etcd would store a new user or role even with auth off;
 * Bulwark refuses UserAdd and RoleAdd with "authentication is not enabled" rather than pretend.
 */
import { GrpcError, Status, type GrpcServer } from '../../api/grpc/index.js';
import { AuthService } from '../../api/proto/generated/etcdserverpb.js';
import type { ServiceContext } from './context.js';

const fail = (code: (typeof Status)[keyof typeof Status], message: string): never => {
  throw new GrpcError(code, `etcdserver: ${message}`);
};
const userNotFound = (): never => fail(Status.FAILED_PRECONDITION, 'user name not found');
const roleNotFound = (): never => fail(Status.FAILED_PRECONDITION, 'role name not found');
const notEnabled = (): never => fail(Status.FAILED_PRECONDITION, 'authentication is not enabled');

export function registerAuth(server: GrpcServer, ctx: ServiceContext): void {
  const ok = async (call: Parameters<ServiceContext['read']>[1]): Promise<{ header: ReturnType<ServiceContext['header']> }> => {
    await ctx.read(false, call);
    return { header: ctx.header() };
  };
  server.handle(AuthService.AuthEnable, () => fail(Status.FAILED_PRECONDITION, 'root user does not exist'));
  server.handle(AuthService.AuthDisable, (_req, call) => ok(call));
  server.handle(AuthService.AuthStatus, async (_req, call) => ({ ...(await ok(call)), enabled: false, authRevision: 1 }));
  server.handle(AuthService.Authenticate, () => notEnabled());
  server.handle(AuthService.UserAdd, (req) => (req.name === '' ? fail(Status.INVALID_ARGUMENT, 'user name is empty') : notEnabled()));
  server.handle(AuthService.UserGet, () => userNotFound());
  server.handle(AuthService.UserList, (_req, call) => ok(call));
  server.handle(AuthService.UserDelete, () => userNotFound());
  server.handle(AuthService.UserChangePassword, () => userNotFound());
  server.handle(AuthService.UserGrantRole, () => userNotFound());
  server.handle(AuthService.UserRevokeRole, () => userNotFound());
  server.handle(AuthService.RoleAdd, (req) => (req.name === '' ? fail(Status.INVALID_ARGUMENT, 'role name is empty') : notEnabled()));
  server.handle(AuthService.RoleGet, () => roleNotFound());
  server.handle(AuthService.RoleList, (_req, call) => ok(call));
  server.handle(AuthService.RoleDelete, () => roleNotFound());
  server.handle(AuthService.RoleGrantPermission, () => roleNotFound());
  server.handle(AuthService.RoleRevokePermission, () => roleNotFound());
}
