/** Bulwark's own version, and the etcd API version it reports (etcd clients check it). */
export const BULWARK_VERSION = '0.1.0';
export const ETCD_API_VERSION = '3.4';
/** The version string reported in Status and /version: etcd clients parse it as semver. */
export const ETCD_COMPAT_VERSION = '3.4.30';
