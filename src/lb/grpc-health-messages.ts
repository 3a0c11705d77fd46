/** grpc.health.v1: HealthCheckRequest { service = 1 }, HealthCheckResponse { status = 1 }. */
import { ProtoWriter, protoFields, protoVarint } from './protobuf.js';

export const GRPC_HEALTH_CHECK_PATH = '/grpc.health.v1.Health/Check';

export type ServingStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';
const STATUSES: readonly ServingStatus[] = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];

export function encodeHealthCheckRequest(service: string): Uint8Array {
  return new ProtoWriter().string(1, service).finish();
}

export function decodeHealthCheckResponse(buf: Uint8Array): ServingStatus {
  let status = 0n;
  for (const f of protoFields(buf)) if (f.field === 1) status = protoVarint(f, 'status');
  return STATUSES[Number(status)] ?? 'UNKNOWN';
}

export function encodeHealthCheckResponse(status: ServingStatus): Uint8Array {
  return new ProtoWriter().uint(1, STATUSES.indexOf(status)).finish();
}
