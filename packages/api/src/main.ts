import {
  ConfigError,
  type ConnectionStore,
  compileEgressPolicy,
  createLogger,
  createVerifyQueue,
  EgressConfigError,
  loadConfig,
  openRedis,
  openStore,
  PendingDependency,
  type Redis,
  StartupError,
  startTracing,
} from '@dbconn/shared';
import { buildServer } from './app.js';
import { startWaitingServer } from './ops/waiting-server.js';

async function main() {
  const config = loadConfig();
  // A bad EGRESS_* entry stops the API now, naming it (the API judges IP literals at input).
  compileEgressPolicy(config.egress);
  const log = createLogger({ level: config.log.level, name: 'api' });
  if (config.secrets.usingTestKey) {
    log.warn(
      'MASTER_KEYS is not set (NODE_ENV=test): sealing with the built-in test key; store no real secret',
    );
  }
  // Before any queue is made: queues and workers carry and take up trace context only when built with it.
  const tracing = await startTracing(config.tracing, { defaultServiceName: 'dbconn-api' });
  // The endpoint is not logged: its URL may hold the collector's credentials.
  if (tracing) log.info('exporting traces over OTLP/HTTP');
  // Ends the wait for the store and Redis at once on SIGTERM/SIGINT.
  const stopping = new AbortController();
  const awaited = { store: new PendingDependency<ConnectionStore>(), redis: new PendingDependency<Redis>() };
  // While the store or Redis is away at start the port answers already: /health 200, /ready 503
  // naming what is awaited, anything else 503 UNAVAILABLE; a supervisor sees a live process waiting.
  const waiting = await startWaitingServer({
    host: config.api.host,
    port: config.api.port,
    probes: awaited,
    readyTimeoutMs: config.store.timeoutMs,
    log,
  });
  let closeServing: (() => Promise<void>) | undefined;
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    log.info({ signal }, 'shutting down');
    stopping.abort();
    await waiting.close();
    await closeServing?.();
    awaited.redis.current?.disconnect();
    await awaited.store.current?.close();
    await tracing?.shutdown().catch((err: unknown) => log.warn({ err }, 'could not send the last spans'));
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  let store: ConnectionStore;
  let redis: Redis;
  try {
    // Each is probed as soon as it is there: /ready names only what is still awaited.
    [store, redis] = await Promise.all([
      openStore(config, { log, signal: stopping.signal }).then((opened) => {
        awaited.store.current = opened;
        return opened;
      }),
      openRedis(config, { log, signal: stopping.signal }).then((opened) => {
        awaited.redis.current = opened;
        return opened;
      }),
    ]);
  } catch (err) {
    // A signal during the wait: the shutdown above exits.
    if (stopping.signal.aborted) return;
    throw err;
  }
  const verifyQueue = createVerifyQueue(redis, config.redis.prefix);
  const app = await buildServer({
    config,
    log,
    store,
    redis,
    verifyQueue,
    keyring: { keys: config.secrets.keys },
  });
  closeServing = async () => {
    await app.close();
    await verifyQueue.close();
  };
  if (closing) return;
  // The port changes hands here: for the moment between the two, a connection is refused.
  await waiting.close();
  await app.listen({ host: config.api.host, port: config.api.port });
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
  } else if (err instanceof EgressConfigError) {
    process.stderr.write(`Invalid configuration:\n  ${err.message}\n`);
  } else if (err instanceof StartupError) {
    // A dependency refused the configuration: the message names the variable, never a secret.
    process.stderr.write(`api failed to start: ${err.message}\n`);
  } else {
    process.stderr.write(
      `api failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
  }
  process.exit(1);
});
