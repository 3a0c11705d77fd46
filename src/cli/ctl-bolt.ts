/**
 * etcdctl's `snapshot status` of an etcd snapshot file (a bbolt database, as etcd's
 * Maintenance.Snapshot streams it, with the sha256 of the database appended): etcdctl's hash
 * (CRC-32C over every bucket name and key-value pair, in order), the revision (the last key of the
 * `key` bucket), the number of keys and the database size. The file is read by the server's
 * defensive bbolt reader (src/server/bbolt-reader.ts): a damaged file is a BoltError, never a crash.
 */
import { crc32c } from '../core/crc32c.js';
import { BoltReader } from '../server/bbolt-reader.js';
import { BoltError } from '../server/errors.js';

export { BoltError };

export interface BoltStatus {
  readonly hash: number;
  readonly revision: number;
  readonly totalKey: number;
  readonly totalSize: number;
}

const KEY_BUCKET = 'key';

/** etcdctl's `snapshot status` of a bbolt database. Throws BoltError when the file is not one. */
export function boltStatus(buf: Uint8Array): BoltStatus {
  const db = new BoltReader(buf);
  let hash = 0;
  let totalKey = 0;
  let revision = 0;
  for (const bucket of db.entries([])) {
    if (!bucket.isBucket) throw new BoltError('a key outside any bucket');
    hash = crc32c(bucket.key, hash);
    const isKeyBucket = Buffer.from(bucket.key).toString('latin1') === KEY_BUCKET;
    db.forEach([bucket.key], (e) => {
      hash = crc32c(e.key, hash);
      hash = crc32c(e.value, hash);
      if (isKeyBucket && e.key.length >= 8) revision = Number(new DataView(e.key.buffer, e.key.byteOffset, 8).getBigInt64(0, false));
      totalKey++;
    });
  }
  return { hash, revision, totalKey, totalSize: db.sizeBytes };
}
