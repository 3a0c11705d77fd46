/**
 * The JSON gateway's paths (etcd 3.4's, plus the 3.5/3.6 additions AuthStatus, HashKV and
 * Downgrade): each POST path, the gRPC method it calls and the message types its JSON maps to.
 * `/v3beta/...` (etcd 3.4's older prefix) is accepted as an alias of every path.
 */
import type { AnyMethod } from '../api/grpc/method.js';
import { AuthService, ClusterService, KVService, LeaseService, MaintenanceService, WatchService } from '../api/proto/generated/etcdserverpb.js';
import { ElectionService } from '../api/proto/generated/v3electionpb.js';
import { LockService } from '../api/proto/generated/v3lockpb.js';

export interface GatewayRoute {
  readonly method: AnyMethod;
  readonly request: string;
  readonly response: string;
  /**
   * For a streaming request: whether the response stream goes on after the request body ends
   * (etcd's watch does; its keep-alive ends with the requests).
   */
  readonly outlivesRequests: boolean;
}

const E = 'etcdserverpb.';

function r(method: AnyMethod, request: string, response: string, outlivesRequests = false): GatewayRoute {
  return { method, request, response, outlivesRequests };
}

export const GATEWAY_ROUTES: ReadonlyMap<string, GatewayRoute> = new Map<string, GatewayRoute>([
  ['/v3/kv/range', r(KVService.Range, `${E}RangeRequest`, `${E}RangeResponse`)],
  ['/v3/kv/put', r(KVService.Put, `${E}PutRequest`, `${E}PutResponse`)],
  ['/v3/kv/deleterange', r(KVService.DeleteRange, `${E}DeleteRangeRequest`, `${E}DeleteRangeResponse`)],
  ['/v3/kv/txn', r(KVService.Txn, `${E}TxnRequest`, `${E}TxnResponse`)],
  ['/v3/kv/compaction', r(KVService.Compact, `${E}CompactionRequest`, `${E}CompactionResponse`)],
  ['/v3/watch', r(WatchService.Watch, `${E}WatchRequest`, `${E}WatchResponse`, true)],
  ['/v3/lease/grant', r(LeaseService.LeaseGrant, `${E}LeaseGrantRequest`, `${E}LeaseGrantResponse`)],
  ['/v3/lease/revoke', r(LeaseService.LeaseRevoke, `${E}LeaseRevokeRequest`, `${E}LeaseRevokeResponse`)],
  ['/v3/kv/lease/revoke', r(LeaseService.LeaseRevoke, `${E}LeaseRevokeRequest`, `${E}LeaseRevokeResponse`)],
  ['/v3/lease/keepalive', r(LeaseService.LeaseKeepAlive, `${E}LeaseKeepAliveRequest`, `${E}LeaseKeepAliveResponse`)],
  ['/v3/lease/timetolive', r(LeaseService.LeaseTimeToLive, `${E}LeaseTimeToLiveRequest`, `${E}LeaseTimeToLiveResponse`)],
  ['/v3/kv/lease/timetolive', r(LeaseService.LeaseTimeToLive, `${E}LeaseTimeToLiveRequest`, `${E}LeaseTimeToLiveResponse`)],
  ['/v3/lease/leases', r(LeaseService.LeaseLeases, `${E}LeaseLeasesRequest`, `${E}LeaseLeasesResponse`)],
  ['/v3/kv/lease/leases', r(LeaseService.LeaseLeases, `${E}LeaseLeasesRequest`, `${E}LeaseLeasesResponse`)],
  ['/v3/cluster/member/add', r(ClusterService.MemberAdd, `${E}MemberAddRequest`, `${E}MemberAddResponse`)],
  ['/v3/cluster/member/remove', r(ClusterService.MemberRemove, `${E}MemberRemoveRequest`, `${E}MemberRemoveResponse`)],
  ['/v3/cluster/member/update', r(ClusterService.MemberUpdate, `${E}MemberUpdateRequest`, `${E}MemberUpdateResponse`)],
  ['/v3/cluster/member/list', r(ClusterService.MemberList, `${E}MemberListRequest`, `${E}MemberListResponse`)],
  ['/v3/cluster/member/promote', r(ClusterService.MemberPromote, `${E}MemberPromoteRequest`, `${E}MemberPromoteResponse`)],
  ['/v3/maintenance/alarm', r(MaintenanceService.Alarm, `${E}AlarmRequest`, `${E}AlarmResponse`)],
  ['/v3/maintenance/status', r(MaintenanceService.Status, `${E}StatusRequest`, `${E}StatusResponse`)],
  ['/v3/maintenance/defragment', r(MaintenanceService.Defragment, `${E}DefragmentRequest`, `${E}DefragmentResponse`)],
  ['/v3/maintenance/hash', r(MaintenanceService.Hash, `${E}HashRequest`, `${E}HashResponse`)],
  ['/v3/maintenance/hashkv', r(MaintenanceService.HashKV, `${E}HashKVRequest`, `${E}HashKVResponse`)],
  ['/v3/maintenance/snapshot', r(MaintenanceService.Snapshot, `${E}SnapshotRequest`, `${E}SnapshotResponse`)],
  ['/v3/maintenance/transfer-leadership', r(MaintenanceService.MoveLeader, `${E}MoveLeaderRequest`, `${E}MoveLeaderResponse`)],
  ['/v3/maintenance/downgrade', r(MaintenanceService.Downgrade, `${E}DowngradeRequest`, `${E}DowngradeResponse`)],
  ['/v3/auth/enable', r(AuthService.AuthEnable, `${E}AuthEnableRequest`, `${E}AuthEnableResponse`)],
  ['/v3/auth/disable', r(AuthService.AuthDisable, `${E}AuthDisableRequest`, `${E}AuthDisableResponse`)],
  ['/v3/auth/status', r(AuthService.AuthStatus, `${E}AuthStatusRequest`, `${E}AuthStatusResponse`)],
  ['/v3/auth/authenticate', r(AuthService.Authenticate, `${E}AuthenticateRequest`, `${E}AuthenticateResponse`)],
  ['/v3/auth/user/add', r(AuthService.UserAdd, `${E}AuthUserAddRequest`, `${E}AuthUserAddResponse`)],
  ['/v3/auth/user/get', r(AuthService.UserGet, `${E}AuthUserGetRequest`, `${E}AuthUserGetResponse`)],
  ['/v3/auth/user/list', r(AuthService.UserList, `${E}AuthUserListRequest`, `${E}AuthUserListResponse`)],
  ['/v3/auth/user/delete', r(AuthService.UserDelete, `${E}AuthUserDeleteRequest`, `${E}AuthUserDeleteResponse`)],
  ['/v3/auth/user/changepw', r(AuthService.UserChangePassword, `${E}AuthUserChangePasswordRequest`, `${E}AuthUserChangePasswordResponse`)],
  ['/v3/auth/user/grant', r(AuthService.UserGrantRole, `${E}AuthUserGrantRoleRequest`, `${E}AuthUserGrantRoleResponse`)],
  ['/v3/auth/user/revoke', r(AuthService.UserRevokeRole, `${E}AuthUserRevokeRoleRequest`, `${E}AuthUserRevokeRoleResponse`)],
  ['/v3/auth/role/add', r(AuthService.RoleAdd, `${E}AuthRoleAddRequest`, `${E}AuthRoleAddResponse`)],
  ['/v3/auth/role/get', r(AuthService.RoleGet, `${E}AuthRoleGetRequest`, `${E}AuthRoleGetResponse`)],
  ['/v3/auth/role/list', r(AuthService.RoleList, `${E}AuthRoleListRequest`, `${E}AuthRoleListResponse`)],
  ['/v3/auth/role/delete', r(AuthService.RoleDelete, `${E}AuthRoleDeleteRequest`, `${E}AuthRoleDeleteResponse`)],
  ['/v3/auth/role/grant', r(AuthService.RoleGrantPermission, `${E}AuthRoleGrantPermissionRequest`, `${E}AuthRoleGrantPermissionResponse`)],
  ['/v3/auth/role/revoke', r(AuthService.RoleRevokePermission, `${E}AuthRoleRevokePermissionRequest`, `${E}AuthRoleRevokePermissionResponse`)],
  ['/v3/lock/lock', r(LockService.Lock, 'v3lockpb.LockRequest', 'v3lockpb.LockResponse')],
  ['/v3/lock/unlock', r(LockService.Unlock, 'v3lockpb.UnlockRequest', 'v3lockpb.UnlockResponse')],
  ['/v3/election/campaign', r(ElectionService.Campaign, 'v3electionpb.CampaignRequest', 'v3electionpb.CampaignResponse')],
  ['/v3/election/proclaim', r(ElectionService.Proclaim, 'v3electionpb.ProclaimRequest', 'v3electionpb.ProclaimResponse')],
  ['/v3/election/leader', r(ElectionService.Leader, 'v3electionpb.LeaderRequest', 'v3electionpb.LeaderResponse')],
  ['/v3/election/observe', r(ElectionService.Observe, 'v3electionpb.LeaderRequest', 'v3electionpb.LeaderResponse')],
  ['/v3/election/resign', r(ElectionService.Resign, 'v3electionpb.ResignRequest', 'v3electionpb.ResignResponse')],
]);

/** The route for a request path (`/v3beta/` is an alias of `/v3/`), or undefined. */
export function gatewayRoute(path: string): GatewayRoute | undefined {
  const p = path.startsWith('/v3beta/') ? `/v3/${path.slice('/v3beta/'.length)}` : path;
  return GATEWAY_ROUTES.get(p);
}
