import { errorMessage } from '../core/errors.js';
import { NodeClock } from '../env/node/clock.js';
import { JsonLogger } from '../env/node/logger.js';
import { nodeRandom } from '../env/node/random.js';
import { ConfigError, loadConfig, serveUsage } from '../server/config.js';
import { parseFailpoints } from '../server/failpoints.js';
import { BulwarkServer } from '../server/server.js';
import { openDataDisk } from '../server/data-disk.js';
import { UsageError, type Command } from './command.js';

export const serveCommand: Command = {
  name: 'serve',
  summary: 'run one member of a cluster (etcd-compatible flags)',
  usage: serveUsage(),
  async run(argv) {
    let config;
    let failpoints;
    try {
      config = loadConfig(argv);
      failpoints = parseFailpoints(process.env['BULWARK_FAILPOINTS']);
    } catch (e) {
      if (e instanceof ConfigError) throw new UsageError(e.message);
      throw e;
    }
    const logger = new JsonLogger({ level: config.logLevel, fields: { member: config.name } });
    const env = { clock: new NodeClock(), random: nodeRandom(), logger };
    const data = await openDataDisk(config, env);
    let exiting = false;
    const exit = (code: number): void => {
      if (exiting) return;
      exiting = true;
      // Give the log line a moment to reach stderr, then go: recovery starts from disk.
      setTimeout(() => process.exit(code), 50);
    };
    let server: BulwarkServer;
    try {
      server = await BulwarkServer.start({
        config,
        env,
        disk: data.disk,
        storageStatus: () => data.status(),
        storageMetrics: () => data.metrics(),
        failpoints,
        onFatal: (reason, error) => {
          logger.error(`fatal: ${reason}; exiting`, error === undefined ? {} : { error: errorMessage(error) });
          exit(reason.includes('removed from the cluster') ? 0 : 1);
        },
      });
    } catch (e) {
      if (e instanceof ConfigError) throw new UsageError(e.message);
      const code = (e as { code?: unknown }).code;
      if (typeof code === 'string' && code.startsWith('data-dir')) {
        process.stderr.write(`bulwark serve: ${errorMessage(e)}\n`);
        return 1;
      }
      throw e;
    }
    logger.info('ready', { name: config.name, id: server.member.id, cluster: server.member.clusterId, clientUrls: config.listenClientUrls });
    await new Promise<void>((resolveStop) => {
      const stop = (signal: string): void => {
        logger.info('stopping', { signal });
        server.stop().then(() => data.close()).then(
          () => resolveStop(),
          (e: unknown) => {
            logger.error('error while stopping', { error: errorMessage(e) });
            resolveStop();
          },
        );
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
    return 0;
  },
};
