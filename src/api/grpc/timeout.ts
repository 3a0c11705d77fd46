/** The grpc-timeout header: at most 8 digits and a unit (H, M, S, m, u, n). */

const UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

/** Milliseconds, or undefined for a malformed value (which we treat as no deadline). */
export function parseGrpcTimeout(value: string): number | undefined {
  const m = /^(\d{1,8})([HMSmun])$/.exec(value);
  if (m === null) return undefined;
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}

export function formatGrpcTimeout(ms: number): string {
  const t = Math.max(0, Math.ceil(ms));
  if (t < 100_000_000) return `${t}m`;
  const s = Math.ceil(t / 1000);
  if (s < 100_000_000) return `${s}S`;
  return `${Math.min(99_999_999, Math.ceil(s / 3600))}H`;
}
