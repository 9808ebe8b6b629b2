import { Cluster, type ClusterOptions, Redis as IORedis, type RedisOptions } from 'ioredis';
import type { RedisConfig } from './config.js';
import type { Logger } from './logger.js';

/** A connection to the service's Redis: one server or a master behind Sentinel (IORedis), or a Cluster. */
export type Redis = IORedis | Cluster;
/** A connection to one Redis server (or a master behind Sentinel): what a plain URL gives. */
export type StandaloneRedis = IORedis;

export interface RedisClientOptions {
  /**
   * For BullMQ workers and queue events and for pub/sub: blocking commands wait for ever and queue
   * while Redis is away (`maxRetriesPerRequest: null`). Otherwise a command fails fast when Redis
   * is down, so an HTTP request answers 503 instead of waiting.
   */
  blocking?: boolean;
  /**
   * Where connection trouble is reported: the first error of an outage (warn) and the return
   * (info), not every reconnect attempt. Without it errors are dropped here (the client reconnects
   * on its own; commands fail with their own errors meanwhile) instead of printed by ioredis.
   */
  log?: Pick<Logger, 'warn' | 'info'>;
}

/** Reports an outage once and the recovery once; ioredis itself reconnects. */
export function reportRedisTrouble(redis: Redis, log: RedisClientOptions['log'], role: string): Redis {
  let down = false;
  redis.on('error', (err: Error) => {
    if (down) return;
    down = true;
    log?.warn({ err: { message: err.message }, redis: role }, 'redis connection lost; reconnecting');
  });
  redis.on('ready', () => {
    if (!down) return;
    down = false;
    log?.info({ redis: role }, 'redis connection back');
  });
  return redis;
}

/** What the topologies share: the servers' credentials, database and TLS, taken from REDIS_URL. */
function serverOptions(url: string, blocking: boolean): RedisOptions {
  const parsed = new URL(url);
  const database = parsed.pathname.replace(/^\//, '');
  return {
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(database ? { db: Number(database) } : {}),
    ...(parsed.protocol === 'rediss:' ? { tls: { servername: parsed.hostname } } : {}),
    maxRetriesPerRequest: blocking ? null : 1,
    enableOfflineQueue: blocking,
  };
}

/**
 * The one place every Redis connection of the service is built (API, worker, queues, rate limiter,
 * caches, events), for the topology the configuration names. bullmq 6 loaded as ESM cannot build
 * its own client, so every queue and worker is handed one of these. A plain URL (tests, tools)
 * means one server.
 */
export function createRedis(url: string, options?: RedisClientOptions): StandaloneRedis;
export function createRedis(config: RedisConfig, options?: RedisClientOptions): Redis;
export function createRedis(config: RedisConfig | string, options: RedisClientOptions = {}): Redis {
  const target: Pick<RedisConfig, 'url' | 'topology'> =
    typeof config === 'string' ? { url: config, topology: { kind: 'standalone' } } : config;
  const role = options.blocking ? 'blocking' : 'commands';
  return reportRedisTrouble(build(target, !!options.blocking), options.log, role);
}

function build(target: Pick<RedisConfig, 'url' | 'topology'>, blocking: boolean): Redis {
  const { topology } = target;
  switch (topology.kind) {
    case 'standalone':
      return new IORedis(target.url, {
        maxRetriesPerRequest: blocking ? null : 1,
        enableOfflineQueue: blocking,
        lazyConnect: false,
      });
    case 'sentinel': {
      const server = serverOptions(target.url, blocking);
      return new IORedis({
        ...server,
        sentinels: topology.sentinels,
        name: topology.name,
        ...(topology.sentinelPassword !== undefined ? { sentinelPassword: topology.sentinelPassword } : {}),
        ...(server.tls ? { enableTLSForSentinelMode: true } : {}),
        // Subscribes to the sentinels' +switch-master: a fail-over moves every client to the new
        // master at once, instead of when its old socket happens to break.
        failoverDetector: true,
      });
    }
    case 'cluster': {
      const { db: _db, ...server } = serverOptions(target.url, blocking);
      const clusterOptions: ClusterOptions = { redisOptions: server, enableOfflineQueue: blocking };
      return new Cluster(topology.nodes, clusterOptions);
    }
  }
}

/**
 * A client that is connected: resolves on `ready`, rejects on the first connection error (so a
 * process that cannot reach Redis at start stops with the reason instead of hanging).
 */
export async function connectRedis(
  config: RedisConfig | string,
  options: RedisClientOptions = {},
): Promise<Redis> {
  const redis = typeof config === 'string' ? createRedis(config, options) : createRedis(config, options);
  if (redis.status === 'ready') return redis;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => {
      redis.off('ready', onReady);
      redis.disconnect();
      reject(err);
    };
    const onReady = () => {
      redis.off('error', onError);
      resolve();
    };
    redis.once('ready', onReady);
    redis.once('error', onError);
  });
  return redis;
}

/**
 * Replies by which a Redis that answers refuses the configured client: a wrong user or password, a
 * user without the rights, a database number it does not have. Waiting cannot change them.
 */
const REFUSALS =
  /^(WRONGPASS|NOAUTH|NOPERM|ERR (invalid password|invalid username|DB index is out of range|AUTH|Client sent AUTH))/;

/** Whether a connection error is Redis refusing the configuration (not Redis being away). */
export function isRedisRefusal(error: unknown): boolean {
  return error instanceof Error && error.name === 'ReplyError' && REFUSALS.test(error.message);
}
