import {
  ConfigError,
  compileEgressPolicy,
  connectRedis,
  createLogger,
  createStore,
  createVerifyQueue,
  EgressConfigError,
  loadConfig,
  startTracing,
} from '@dbconn/shared';
import { buildServer } from './app.js';

async function main() {
  const config = loadConfig();
  // A bad EGRESS_* entry stops the API now, naming it (the API judges IP literals at input).
  compileEgressPolicy(config.egress);
  const log = createLogger({ level: config.log.level, name: 'api' });
  // Before any queue is made: queues carry the trace context only when built with tracing on.
  const tracing = await startTracing(config.tracing, { defaultServiceName: 'dbconn-api' });
  // The endpoint is not logged: its URL may hold the collector's credentials.
  if (tracing) log.info('exporting traces over OTLP/HTTP');
  if (config.secrets.usingTestKey) {
    log.warn(
      'MASTER_KEYS is not set (NODE_ENV=test): sealing with the built-in test key; store no real secret',
    );
  }
  const store = await createStore(config.store.url, config.store);
  await store.init();
  const redis = await connectRedis(config.redis, { log });
  const verifyQueue = createVerifyQueue(redis, config.redis.prefix);
  const app = await buildServer({
    config,
    log,
    store,
    redis,
    verifyQueue,
    keyring: { keys: config.secrets.keys },
  });

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    log.info({ signal }, 'shutting down');
    await app.close();
    await verifyQueue.close();
    redis.disconnect();
    await store.close();
    await tracing?.shutdown().catch((err: unknown) => log.warn({ err }, 'could not send the last spans'));
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  await app.listen({ host: config.api.host, port: config.api.port });
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
  } else if (err instanceof EgressConfigError) {
    process.stderr.write(`Invalid configuration:\n  ${err.message}\n`);
  } else {
    process.stderr.write(
      `api failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
  }
  process.exit(1);
});
