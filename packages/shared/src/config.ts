import { type Env, EnvSchema } from './config-env.js';

/**
 * The configuration: the environment, parsed once by EnvSchema (config-env.ts, every variable and
 * its rule), checked across variables and shaped into one nested, typed object.
 */

/**
 * Master key of NODE_ENV=test only, so test processes (API, worker, reseal) open each other's
 * secrets without setup. Anyone can read it here: it must never seal a real secret, which is why
 * every other NODE_ENV refuses to start without MASTER_KEYS.
 */
const TEST_MASTER_KEY = Buffer.from('dbconn-test-master-key-seals-nothing-real!!!!!!!!!');

/**
 * Where the API listens when API_HOST is unset: with auth off, this machine only (anyone who
 * reaches an unauthenticated API can read connections and make the worker dial); with auth on,
 * every interface, as before.
 */
const DEFAULT_API_HOST = { authOff: '127.0.0.1', authOn: '0.0.0.0' } as const;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: Record<string, string | undefined> = process.env) {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const e = parsed.data;
  if (!e.MASTER_KEYS && e.NODE_ENV !== 'test') {
    throw new ConfigError([
      `MASTER_KEYS: required (NODE_ENV=${e.NODE_ENV}): secrets are sealed with it. scripts/run.sh makes a local one; ` +
        `or generate one with: node -e "console.log('1:'+require('crypto').randomBytes(32).toString('base64'))"`,
    ]);
  }
  if (e.NODE_ENV === 'production' && e.ADMIN_PASSWORD !== undefined && e.ADMIN_PASSWORD.length < 16) {
    throw new ConfigError([
      'ADMIN_PASSWORD: at least 16 characters when NODE_ENV=production (the dashboard can retry and delete jobs)',
    ]);
  }
  if ((e.ADMIN_USER === undefined) !== (e.ADMIN_PASSWORD === undefined)) {
    const missing = e.ADMIN_USER === undefined ? 'ADMIN_USER' : 'ADMIN_PASSWORD';
    const given = missing === 'ADMIN_USER' ? 'ADMIN_PASSWORD' : 'ADMIN_USER';
    throw new ConfigError([`${missing}: required when ${given} is set (the dashboard needs both)`]);
  }
  const halfConfigured = [
    ...(e.PLUGIN_AUTH_ENABLED && !e.PLUGIN_AUTH_ADDRESS
      ? ['PLUGIN_AUTH_ADDRESS: required when PLUGIN_AUTH_ENABLED=true (where the Access Manager answers)']
      : []),
    ...(!e.PLUGIN_AUTH_ENABLED && e.PLUGIN_AUTH_ADDRESS
      ? [
          'PLUGIN_AUTH_ENABLED: PLUGIN_AUTH_ADDRESS is set but the Access Manager is not enabled (set it to true)',
        ]
      : []),
  ];
  const hasKeySource = Boolean(
    e.AUTH_JWT_VERIFY_CERT || e.AUTH_JWT_VERIFY_CERT_PATH || e.AUTH_JWKS_URL || e.AUTH_JWT_SECRET,
  );
  for (const name of ['AUTH_JWT_ISSUER', 'AUTH_JWT_AUDIENCE'] as const) {
    if (e[name] !== undefined && !hasKeySource) {
      halfConfigured.push(
        `${name}: only checked on verified tokens; set AUTH_JWT_VERIFY_CERT, AUTH_JWT_VERIFY_CERT_PATH, AUTH_JWKS_URL or AUTH_JWT_SECRET`,
      );
    }
  }
  if (e.MULTI_TENANT_ENABLED && !e.PLUGIN_AUTH_ENABLED && !hasKeySource) {
    halfConfigured.push('MULTI_TENANT_ENABLED: needs tokens to read the organization from; enable auth');
  }
  halfConfigured.push(...redisProblems(e));
  if (halfConfigured.length > 0) throw new ConfigError(halfConfigured);
  const keys = e.MASTER_KEYS ?? new Map([[1, TEST_MASTER_KEY]]);
  return {
    env: e.NODE_ENV,
    log: { level: e.LOG_LEVEL },
    api: {
      host:
        e.API_HOST ??
        (e.PLUGIN_AUTH_ENABLED || hasKeySource ? DEFAULT_API_HOST.authOn : DEFAULT_API_HOST.authOff),
      port: e.API_PORT,
      requestTimeoutMs: e.API_REQUEST_TIMEOUT_MS,
    },
    store: {
      url: e.STORE_URL,
      timeoutMs: e.STORE_TIMEOUT_MS,
      poolSize: e.STORE_POOL_SIZE,
      historyRetentionDays: e.HISTORY_RETENTION_DAYS,
    },
    redis: redisConfig(e),
    /** `usingTestKey`: MASTER_KEYS unset, which only NODE_ENV=test allows. */
    secrets: { keys, usingTestKey: !e.MASTER_KEYS },
    auth: {
      /** The organization of every caller without multi-tenancy. */
      defaultOrganizationId: e.DEFAULT_ORGANIZATION_ID,
      /** The API refuses to start when no auth is configured. */
      required: e.AUTH_REQUIRED ?? e.NODE_ENV === 'production',
      /** The platform's Access Manager; undefined = not asked. */
      accessManager: e.PLUGIN_AUTH_ENABLED
        ? {
            address: e.PLUGIN_AUTH_ADDRESS as string,
            timeoutMs: e.AUTH_TIMEOUT_MS,
            cacheTtlSeconds: e.AUTH_CACHE_TTL_SECONDS,
          }
        : undefined,
      /** Local token verification; every key source is optional, none = tokens are not verified here. */
      jwt: {
        verifyCert: e.AUTH_JWT_VERIFY_CERT,
        verifyCertPath: e.AUTH_JWT_VERIFY_CERT_PATH,
        jwksUrl: e.AUTH_JWKS_URL,
        jwksCooldownSeconds: e.AUTH_JWKS_COOLDOWN_SECONDS,
        secret: e.AUTH_JWT_SECRET,
        issuer: e.AUTH_JWT_ISSUER,
        audience: e.AUTH_JWT_AUDIENCE?.split(',')
          .map((a) => a.trim())
          .filter(Boolean),
        clockSkewSeconds: e.AUTH_CLOCK_SKEW_SECONDS,
      },
      /** The claim naming the organization; undefined = one default organization. */
      tenantClaim: e.MULTI_TENANT_ENABLED ? e.AUTH_TENANT_CLAIM : undefined,
    },
    /** Bearer token of /metrics; undefined = open. */
    metricsToken: e.METRICS_TOKEN,
    worker: {
      concurrency: e.WORKER_CONCURRENCY,
      interactiveConcurrency: e.WORKER_INTERACTIVE_CONCURRENCY,
      nice: e.WORKER_NICE,
      /** The worker's /health, /ready and /metrics. */
      health: { host: e.WORKER_HEALTH_HOST, port: e.WORKER_HEALTH_PORT },
    },
    interactive: { timeoutMs: e.INTERACTIVE_TIMEOUT_MS },
    webhooks: {
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
      retryBaseMs: e.WEBHOOK_RETRY_BASE_MS,
      retryWindowMs: e.WEBHOOK_RETRY_WINDOW_MS,
      disableAfterFailures: e.WEBHOOK_DISABLE_AFTER_FAILURES,
      concurrency: e.WORKER_WEBHOOK_CONCURRENCY,
    },
    rateLimit: {
      perConnection: e.RATE_LIMIT_PER_CONNECTION,
      perCaller: e.RATE_LIMIT_PER_CALLER,
      perOrganization: e.RATE_LIMIT_PER_ORGANIZATION,
      dialsPerOrganization: e.RATE_LIMIT_DIALS_PER_ORGANIZATION,
      adminAuthFailures: e.ADMIN_AUTH_FAILURES_PER_WINDOW,
      windowSeconds: e.RATE_LIMIT_WINDOW_SECONDS,
    },
    schema: { cacheTtlSeconds: e.SCHEMA_CACHE_TTL_SECONDS, sampleSize: e.SCHEMA_SAMPLE_SIZE },
    verify: {
      timeoutMs: e.VERIFY_TIMEOUT_MS,
      stageTimeoutMs: e.VERIFY_STAGE_TIMEOUT_MS,
      attempts: e.VERIFY_ATTEMPTS,
      backoffMs: e.VERIFY_BACKOFF_MS,
    },
    sweep: { intervalMs: e.SWEEP_INTERVAL_MS, staleAfterMs: e.SWEEP_STALE_AFTER_MS },
    /** Periodic re-verification; `intervalMs` 0 = off. */
    reverify: { intervalMs: e.REVERIFY_INTERVAL_MS, batchSize: e.REVERIFY_BATCH_SIZE },
    egress: {
      // Multi-tenant: one organization must not reach another's private network, nor the platform's.
      mode: e.MULTI_TENANT_ENABLED ? ('strict' as const) : e.EGRESS_MODE,
      // Production: loopback is this machine, never a customer database, unless an allow list says so.
      refuseLoopback: e.NODE_ENV === 'production',
      allow: e.EGRESS_ALLOW,
      deny: e.EGRESS_DENY,
      tenantAllow: e.EGRESS_TENANT_ALLOW,
      nat64Prefixes: e.EGRESS_NAT64_PREFIXES,
    },
    /**
     * The service's own endpoints: never a dial target (the egress SelfTargets). The listeners are
     * this deployment's API and worker operations ports.
     */
    selfEndpoints: {
      storeUrl: e.STORE_URL,
      redisUrl: e.REDIS_URL,
      // On Sentinel or Cluster the servers are found through these (and are then among them or
      // named by them); REDIS_URL's own host is not used.
      redisNodes: [...e.REDIS_SENTINELS, ...e.REDIS_CLUSTER_NODES],
      listeners: [
        // Where the API listens: on this machine either way (loopback or every interface).
        { role: 'api' as const, host: e.API_HOST ?? '0.0.0.0', port: e.API_PORT },
        { role: 'worker' as const, host: e.WORKER_HEALTH_HOST, port: e.WORKER_HEALTH_PORT },
      ],
    },
    /** Worker: resolvers for connection hosts; empty = the system resolver (getaddrinfo). */
    dns: { servers: e.DNS_SERVERS },
    tracing: tracingConfig(e),
    admin: {
      /** HTTP Basic credentials of /admin/queues; undefined = the dashboard is not mounted. */
      credentials:
        e.ADMIN_USER !== undefined && e.ADMIN_PASSWORD !== undefined
          ? { user: e.ADMIN_USER, password: e.ADMIN_PASSWORD }
          : undefined,
    },
  };
}

export type Config = ReturnType<typeof loadConfig>;

/** Default QUEUE_PREFIX: on Cluster a hash tag, so that a deployment's keys share one slot. */
const DEFAULT_PREFIX = { single: 'dbconn', cluster: '{dbconn}' } as const;

function redisProblems(e: Env): string[] {
  const problems: string[] = [];
  const onSentinel = e.REDIS_SENTINELS.length > 0;
  const onCluster = e.REDIS_CLUSTER_NODES.length > 0;
  if (onSentinel && onCluster) {
    problems.push('REDIS_CLUSTER_NODES: set either REDIS_SENTINELS or REDIS_CLUSTER_NODES, not both');
  }
  if (onSentinel && e.REDIS_SENTINEL_NAME === undefined) {
    problems.push(
      'REDIS_SENTINEL_NAME: required with REDIS_SENTINELS (the name the master is monitored under)',
    );
  }
  if (!onSentinel && (e.REDIS_SENTINEL_NAME !== undefined || e.REDIS_SENTINEL_PASSWORD !== undefined)) {
    problems.push('REDIS_SENTINELS: required when REDIS_SENTINEL_NAME or REDIS_SENTINEL_PASSWORD is set');
  }
  if (onCluster && e.QUEUE_PREFIX !== undefined && !/^\{[^}]+\}/.test(e.QUEUE_PREFIX)) {
    problems.push(
      `QUEUE_PREFIX: must start with a {hash tag} on Redis Cluster (e.g. {${e.QUEUE_PREFIX}}), so that every key of the service lands in one slot`,
    );
  }
  if (onCluster && /^rediss?:\/\/[^/]*\/[1-9]/.test(e.REDIS_URL)) {
    problems.push('REDIS_URL: Redis Cluster has only database 0');
  }
  return problems;
}

/** Where the Redis servers are: one server, a master found through Sentinel, or a Cluster. */
export type RedisTopology =
  | { kind: 'standalone' }
  | { kind: 'sentinel'; sentinels: { host: string; port: number }[]; name: string; sentinelPassword?: string }
  | { kind: 'cluster'; nodes: { host: string; port: number }[] };

function redisConfig(e: Env) {
  const topology: RedisTopology =
    e.REDIS_SENTINELS.length > 0
      ? {
          kind: 'sentinel',
          sentinels: e.REDIS_SENTINELS,
          name: e.REDIS_SENTINEL_NAME as string,
          ...(e.REDIS_SENTINEL_PASSWORD !== undefined ? { sentinelPassword: e.REDIS_SENTINEL_PASSWORD } : {}),
        }
      : e.REDIS_CLUSTER_NODES.length > 0
        ? { kind: 'cluster', nodes: e.REDIS_CLUSTER_NODES }
        : { kind: 'standalone' };
  return {
    /** The server (standalone), or the credentials, database and TLS of the servers (Sentinel, Cluster). */
    url: e.REDIS_URL,
    topology,
    prefix: e.QUEUE_PREFIX ?? (topology.kind === 'cluster' ? DEFAULT_PREFIX.cluster : DEFAULT_PREFIX.single),
  };
}

export type RedisConfig = Config['redis'];

/**
 * Where spans are exported (OTLP/HTTP), per the OpenTelemetry specification: the traces endpoint as
 * given, else the base endpoint with `/v1/traces` appended. `endpoint` undefined = no tracing.
 */
function tracingConfig(e: Env) {
  const base = e.OTEL_EXPORTER_OTLP_ENDPOINT;
  const endpoint =
    e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
    (base === undefined ? undefined : `${base.replace(/\/+$/, '')}/v1/traces`);
  return {
    endpoint: e.OTEL_SDK_DISABLED ? undefined : endpoint,
    /** Undefined: each process names itself (dbconn-api, dbconn-worker). */
    serviceName: e.OTEL_SERVICE_NAME,
    sampler: {
      /** Follow a caller's (or a job's parent's) sampled flag when there is one. */
      parentBased: e.OTEL_TRACES_SAMPLER.startsWith('parentbased_'),
      /** The share of new traces kept. */
      ratio: e.OTEL_TRACES_SAMPLER.endsWith('always_off')
        ? 0
        : e.OTEL_TRACES_SAMPLER.endsWith('traceidratio')
          ? (e.OTEL_TRACES_SAMPLER_ARG ?? 1)
          : 1,
    },
  };
}

export type TracingConfig = Config['tracing'];
