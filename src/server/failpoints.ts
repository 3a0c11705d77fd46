/**
 * Failpoints: faults an operator or the chaos tool turns on in a running member through the
 * BULWARK_FAILPOINTS environment variable, e.g. `wal-fsync-delay-ms=200,wal-fsync-error-after=50`.
 *
 *   wal-fsync-delay-ms=N       every WAL fsync takes N ms longer (a slow disk)
 *   wal-fsync-error-after=N    the N-th WAL fsync from now fails with EIO (a failing disk; fatal)
 *
 * Unknown names are refused at start, so a typo does not silently test nothing.
 */
import { ConfigError } from './config.js';

export interface Failpoints {
  readonly walFsyncDelayMs: number;
  readonly walFsyncErrorAfter: number | null;
}

export const NO_FAILPOINTS: Failpoints = { walFsyncDelayMs: 0, walFsyncErrorAfter: null };

export function parseFailpoints(text: string | undefined): Failpoints {
  if (text === undefined || text.trim() === '') return NO_FAILPOINTS;
  let walFsyncDelayMs = 0;
  let walFsyncErrorAfter: number | null = null;
  for (const part of text.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const [name, value] = part.split('=');
    const n = Number(value);
    if (value === undefined || !Number.isInteger(n) || n < 0) throw new ConfigError(`BULWARK_FAILPOINTS: '${part}' needs a whole number, e.g. ${name}=100`);
    switch (name) {
      case 'wal-fsync-delay-ms':
        walFsyncDelayMs = n;
        break;
      case 'wal-fsync-error-after':
        walFsyncErrorAfter = n;
        break;
      default:
        throw new ConfigError(`BULWARK_FAILPOINTS: unknown failpoint '${name}' (known: wal-fsync-delay-ms, wal-fsync-error-after)`);
    }
  }
  return { walFsyncDelayMs, walFsyncErrorAfter };
}
