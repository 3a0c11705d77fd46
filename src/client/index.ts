/** `bulwark/client`: the failover client for Bulwark and etcd clusters. */
export { BULWARK_VERSION } from '../version.js';
