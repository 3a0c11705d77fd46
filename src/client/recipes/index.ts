/** Coordination recipes over the failover client. See docs/client.md. */
export { Session, SESSION_TTL_SECONDS_DEFAULT } from './session.js';
export { Mutex } from './mutex.js';
export { RwLock } from './rwlock.js';
export { Election } from './election.js';
export { Barrier, DoubleBarrier } from './barrier.js';
export { Queue, PriorityQueue, type QueueOptions } from './queue.js';
export { Counter } from './counter.js';
export { stm, StmTx, type StmOptions } from './stm.js';
export { registerInstance, listInstances, watchInstances, SERVICES_PREFIX_DEFAULT, type Registration, type Instances } from './service-discovery.js';
export { watchConfig, ConfigWatcher, parsers, type ConfigField, type ConfigSchema, type ConfigChange } from './config.js';
