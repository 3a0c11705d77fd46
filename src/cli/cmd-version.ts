import type { Command } from './command.js';
import { BULWARK_VERSION, ETCD_API_VERSION } from '../version.js';

export const versionCommand: Command = {
  name: 'version',
  summary: 'print the Bulwark version and the etcd API version it speaks',
  usage: 'bulwark version',
  async run() {
    process.stdout.write(`bulwark Version: ${BULWARK_VERSION}\nAPI version: ${ETCD_API_VERSION}\n`);
    return 0;
  },
};
