import {
  type Config,
  ConfigError,
  createLogger,
  createRedis,
  createStore,
  createVerifyQueue,
  type Logger,
  loadConfig,
} from '@dbconn/shared';
import { createSweeper } from './sweeper.js';
import { startWorker } from './worker.js';

/** The worker process: consumes verification jobs and sweeps stranded connections. */
async function main(config: Config, log: Logger) {
  if (config.secrets.usingDevelopmentKey) {
    log.warn('MASTER_KEYS is not set: using the built-in development key (refused when NODE_ENV=production)');
  }
  const store = await createStore(config.store.url);
  await store.init();

  // The sweeper's client fails fast while Redis is down (a sweep is retried next interval).
  const redis = createRedis(config.redis.url);
  const queue = createVerifyQueue(redis, config.redis.prefix);
  const sweeper = createSweeper({ config, log, store, queue, redis });

  const running = await startWorker({ config, log, store });
  sweeper.start();
  log.info(
    { sweepIntervalMs: config.sweep.intervalMs, staleAfterMs: config.sweep.staleAfterMs },
    'sweeper started',
  );

  let closing = false;
  const shutdown = async (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    log.info({ signal }, 'shutting down');
    try {
      await sweeper.stop();
      await running.close();
      await queue.close();
      redis.disconnect();
      await store.close();
      process.exit(0);
    } catch (err) {
      log.error({ err }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGTERM', (signal) => void shutdown(signal));
  process.on('SIGINT', (signal) => void shutdown(signal));
}

let config: Config;
try {
  config = loadConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
}
const log = createLogger({ level: config.log.level, name: 'worker' });
main(config, log).catch((err: unknown) => {
  log.fatal({ err }, 'worker failed to start');
  process.exit(1);
});
