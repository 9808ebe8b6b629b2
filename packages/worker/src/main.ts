import {
  type Config,
  ConfigError,
  type ConnectionStore,
  compileEgressPolicy,
  createConnectionEventPublisher,
  createInteractiveQueue,
  createLogger,
  createVerifyQueue,
  createWebhookQueue,
  EgressConfigError,
  emitWebhookEvent,
  JOB_NAMES,
  type Logger,
  loadConfig,
  openRedis,
  openStore,
  PendingDependency,
  QUEUE_NAMES,
  type Redis,
  SelfTargets,
  StartupError,
  selfTargetsOf,
  startTracing,
} from '@dbconn/shared';
import { createWorkerMetrics, keepSchedules, startOpsServer, yieldCpu } from './ops/index.js';
import { createDeliverWebhookProcessor } from './processors/deliver-webhook.processor.js';
import { createDiscoverSchemaProcessor } from './processors/discover-schema.processor.js';
import { createVerifyQueueHandlers } from './processors/index.js';
import { createInteractiveHandlers } from './processors/interactive.processor.js';
import { resolverLookup, resolverSrv } from './verify/network.js';
import { startWorker } from './worker.js';

/**
 * The worker process: consumes verification jobs, keeps the schedules of the sweeper and of periodic
 * re-verification and serves /health, /ready and /metrics on its operations port.
 */
async function main(config: Config, log: Logger) {
  if (config.secrets.usingTestKey) {
    log.warn(
      'MASTER_KEYS is not set (NODE_ENV=test): sealing with the built-in test key; store no real secret',
    );
  }
  // Before any queue is made: queues and workers carry and take up trace context only when built with it.
  const tracing = await startTracing(config.tracing, { defaultServiceName: 'dbconn-worker' });
  // The endpoint is not logged: its URL may hold the collector's credentials.
  if (tracing) log.info('exporting traces over OTLP/HTTP');
  // Ends the wait for the store and Redis at once on SIGTERM/SIGINT.
  const stopping = new AbortController();
  const awaited = { store: new PendingDependency<ConnectionStore>(), redis: new PendingDependency<Redis>() };
  const metrics = createWorkerMetrics({ log });
  // The probes come first: while the store or Redis is away at start, /health answers and /ready
  // names what is awaited, so a supervisor sees a live process waiting instead of a crash loop.
  const opsServer = await startOpsServer({
    ...config.worker.health,
    store: awaited.store,
    redis: awaited.redis,
    registry: metrics.registry,
    log,
    readyTimeoutMs: config.store.timeoutMs,
  });
  let stopConsuming: (() => Promise<void>) | undefined;
  let closing = false;
  const shutdown = async (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    log.info({ signal }, 'shutting down');
    stopping.abort();
    try {
      await stopConsuming?.();
      await opsServer.close();
      awaited.redis.current?.disconnect();
      await awaited.store.current?.close();
      await tracing?.shutdown().catch((err: unknown) => log.warn({ err }, 'could not send the last spans'));
      process.exit(0);
    } catch (err) {
      log.error({ err }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGTERM', (signal) => void shutdown(signal));
  process.on('SIGINT', (signal) => void shutdown(signal));

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

  const queue = createVerifyQueue(redis, config.redis.prefix);
  // Only read for its depth and age on /metrics; the API enqueues interactive work.
  const interactiveQueue = createInteractiveQueue(redis, config.redis.prefix);
  const webhookQueue = createWebhookQueue(redis, config.redis.prefix);
  metrics.watchQueues([queue, interactiveQueue, webhookQueue]);

  const keyring = { keys: config.secrets.keys };
  // What every dial shares: the service's own endpoints (never dialled) and the resolver.
  const dialEnvironment = {
    selfTargets: new SelfTargets(selfTargetsOf(config.selfEndpoints), compileEgressPolicy(config.egress)),
    ...(config.dns.servers.length > 0
      ? { lookup: resolverLookup(config.dns.servers), srvLookup: resolverSrv(config.dns.servers) }
      : {}),
  };
  const prefix = config.redis.prefix;
  // Status and stage events, several per write (event-publisher.ts); flushed before Redis goes.
  const events = createConnectionEventPublisher(redis, prefix);
  const processorDeps = {
    store,
    keyring,
    config,
    log,
    dialEnvironment,
    publish: events.publish,
    onVerified: metrics.recordVerification,
    emitWebhook: (
      organizationId: string,
      event: Parameters<typeof emitWebhookEvent>[2],
      data: Parameters<typeof emitWebhookEvent>[3],
    ) =>
      emitWebhookEvent({ store, queue: webhookQueue, policy: config.webhooks }, organizationId, event, data),
  };
  const background = await startWorker({
    config,
    log,
    store,
    handlers: createVerifyQueueHandlers({ ...processorDeps, queue }),
  });
  // Interactive work has its own queue and concurrency: it never waits behind background verifications.
  const interactive = await startWorker({
    config,
    log,
    store,
    queue: QUEUE_NAMES.interactive,
    concurrency: config.worker.interactiveConcurrency,
    handlers: createInteractiveHandlers(
      { ...processorDeps, redis, prefix, queue },
      createDiscoverSchemaProcessor({
        store,
        keyring,
        log,
        verifyOptions: {
          timeoutMs: config.verify.timeoutMs,
          stageTimeoutMs: config.verify.stageTimeoutMs,
          egress: config.egress,
          ...dialEnvironment,
        },
        sampleSize: config.schema.sampleSize,
      }),
    ),
  });
  // Webhook deliveries: their own queue and concurrency, so a slow receiver delays no verification.
  const webhooks = await startWorker({
    config,
    log,
    store,
    queue: QUEUE_NAMES.webhooks,
    concurrency: config.webhooks.concurrency,
    handlers: {
      [JOB_NAMES.deliverWebhook]: createDeliverWebhookProcessor({
        store,
        keyring,
        config,
        log,
        dialEnvironment,
      }),
    },
  });
  // The sweeper and periodic re-verification are BullMQ job schedulers, kept even if Redis loses them.
  const schedules = await keepSchedules({ queue, redis, config, log });
  stopConsuming = async () => {
    await schedules.stop();
    await Promise.all([background.close(), interactive.close(), webhooks.close()]);
    await events.flush();
    await Promise.all([queue.close(), interactiveQueue.close(), webhookQueue.close()]);
  };
  // The last line of start-up: both queues are consumed, the sweeper runs, the probes answer.
  log.info('worker ready');
}

let config: Config;
try {
  config = loadConfig();
  // A bad EGRESS_ALLOW/EGRESS_DENY entry stops the worker now, not at its first verification.
  compileEgressPolicy(config.egress);
} catch (err) {
  if (!(err instanceof ConfigError) && !(err instanceof EgressConfigError)) throw err;
  process.stderr.write(
    `${err instanceof EgressConfigError ? 'Invalid configuration:\n  ' : ''}${err.message}\n`,
  );
  process.exit(1);
}
const log = createLogger({ level: config.log.level, name: 'worker' });
yieldCpu(config.worker.nice, log);
main(config, log).catch((err: unknown) => {
  // A dependency refused the configuration: its message names the variable (and holds no secret).
  if (err instanceof StartupError) log.fatal({ dependency: err.dependency }, err.message);
  else log.fatal({ err }, 'worker failed to start');
  process.exit(1);
});
