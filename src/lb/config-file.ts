/**
 * Reading the config file and reloading it on SIGHUP or when the file changes. A reload that
 * fails (unreadable, invalid, or a change that needs a restart) is logged and the running
 * configuration stays.
 */
import { readFileSync, statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { errorMessage } from '../core/errors.js';
import { LB_CONFIG_BYTES_MAX, LB_CONFIG_RELOAD_DEBOUNCE_MS } from '../core/limits.js';
import type { Logger } from '../env/logger.js';
import { parseLbConfigText, type LbConfig } from './config.js';
import { LbConfigError } from './errors.js';
import type { LoadBalancer } from './load-balancer.js';

export function readLbConfigFile(path: string): LbConfig {
  let text: string;
  try {
    const size = statSync(path).size;
    if (size > LB_CONFIG_BYTES_MAX) throw new LbConfigError(path, `file of ${size} bytes is larger than ${LB_CONFIG_BYTES_MAX}`);
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof LbConfigError) throw e;
    throw new LbConfigError(path, `cannot read: ${errorMessage(e)}`);
  }
  return parseLbConfigText(text, path);
}

/** Reloads `path` into `lb` on SIGHUP and on file changes. Returns a function that stops watching. */
export function watchLbConfigFile(path: string, lb: LoadBalancer, logger: Logger): () => void {
  let timer: ReturnType<typeof setTimeout> | null = null;
  let last = '';
  const reload = (why: string): void => {
    try {
      const next = readLbConfigFile(path);
      const key = JSON.stringify(next);
      if (why === 'file changed' && key === last) return; // an editor's second write event
      lb.reload(next);
      last = key;
      logger.info('config reloaded', { path, why });
    } catch (e) {
      lb.metrics.reloadsFailed++;
      logger.error('config reload refused; keeping the running configuration', { path, why, error: errorMessage(e) });
    }
  };
  last = JSON.stringify(lb.currentConfig);
  const onHup = (): void => reload('SIGHUP');
  process.on('SIGHUP', onHup);
  let watcher: FSWatcher | null = null;
  try {
    // The directory, not the file: editors and config tools replace the file by renaming a new one over it.
    watcher = watch(dirname(path), (_event, name) => {
      if (name !== null && name !== basename(path)) return;
      if (timer !== null) clearTimeout(timer);
      timer = setTimeout(() => reload('file changed'), LB_CONFIG_RELOAD_DEBOUNCE_MS);
    });
    watcher.on('error', () => watcher?.close());
  } catch (e) {
    logger.warn('cannot watch the config file; reload with SIGHUP', { path, error: errorMessage(e) });
  }
  return () => {
    process.off('SIGHUP', onHup);
    watcher?.close();
    if (timer !== null) clearTimeout(timer);
  };
}
