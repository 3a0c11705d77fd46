/** Bulwark's library entry point: the public types and building blocks. */
export * from './core/ids.js';
export { BulwarkError } from './core/errors.js';
export { crc32c } from './core/crc32c.js';
export { BULWARK_VERSION, ETCD_API_VERSION } from './version.js';
