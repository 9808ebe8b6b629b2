import { isIP } from 'node:net';
import { z } from 'zod';

/**
 * Every environment variable the service reads, parsed once at start. Nothing else in the code
 * reads `process.env`. A bad value stops the process with a message naming the variable.
 */
const int = (fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))
    .default(fallback);

const list = z
  .string()
  .default('')
  .transform((v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );

/**
 * `tenant-a=10.1.0.0/16,db.internal;tenant-b=…` — an allow list per organization id. The entries are
 * checked by the egress policy at start (a bad CIDR or name stops the process naming it).
 */
const tenantAllowLists = z
  .string()
  .default('')
  .transform((raw, ctx) => {
    const lists: Record<string, string[]> = {};
    for (const group of raw
      .split(';')
      .map((s) => s.trim())
      .filter(Boolean)) {
      const match = /^([^=\s]+)\s*=(.*)$/.exec(group);
      const organizationId = match?.[1];
      if (!match || organizationId === undefined || Object.hasOwn(lists, organizationId)) {
        ctx.addIssue({
          code: 'custom',
          message: `"${group}": each group must be <organization id>=<CIDR or host>,… and name an organization once`,
        });
        return z.NEVER;
      }
      lists[organizationId] = (match[2] ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    }
    return lists;
  });

/** `host:port` with an IPv6 literal in brackets (`[::1]:26379`); the port is required. */
const HOST_PORT = /^(?:\[([^\]]+)\]|([^:\s[\]]+)):(\d{1,5})$/;

/** `sentinel-1:26379,sentinel-2:26379`: Redis Sentinels or Redis Cluster seed nodes. */
const hostPorts = list.transform((entries, ctx) =>
  entries.flatMap((entry) => {
    const match = HOST_PORT.exec(entry);
    const port = Number(match?.[3]);
    if (!match || port < 1 || port > 65535) {
      ctx.addIssue({ code: 'custom', message: `"${entry}" is not host:port` });
      return [];
    }
    return [{ host: (match[1] ?? match[2]) as string, port }];
  }),
);

/** `10.0.0.2`, `127.0.0.1:5353`, `[::1]:53`: the forms `dns.setServers` takes. */
const dnsServers = list.superRefine((servers, ctx) => {
  for (const server of servers) {
    const match = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(server) ?? /^([^:]+)(?::(\d{1,5}))?$/.exec(server);
    const host = match?.[1] ?? server;
    const port = match?.[2] === undefined ? 53 : Number(match[2]);
    if (isIP(host) === 0 || port < 1 || port > 65535) {
      ctx.addIssue({ code: 'custom', message: `"${server}" is not an IP address with an optional :port` });
    }
  }
});

/** `1:<base64 of ≥32 bytes>,2:<...>` — several versions open; the highest version seals. */
const masterKeys = z
  .string()
  .optional()
  .transform((raw, ctx) => {
    if (raw === undefined || raw.trim() === '') return undefined;
    const keys = new Map<number, Buffer>();
    for (const entry of raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      const match = /^(\d{1,6}):([A-Za-z0-9+/=_-]+)$/.exec(entry);
      const key = match ? Buffer.from(match[2] as string, 'base64') : undefined;
      if (!match || !key || key.length < 32) {
        ctx.addIssue({
          code: 'custom',
          message: 'each entry must be <version>:<base64 of at least 32 bytes>',
        });
        return z.NEVER;
      }
      keys.set(Number(match[1]), key);
    }
    if (keys.size === 0) {
      ctx.addIssue({ code: 'custom', message: 'give at least one <version>:<base64 key>' });
      return z.NEVER;
    }
    return keys;
  });

/** An optional value where an empty string (e.g. `${VAR:-}` in docker-compose) means "not set". */
const optional = <T extends z.ZodType<unknown, string | undefined>>(schema: T) =>
  z
    .string()
    .optional()
    .transform((v) => (v === '' ? undefined : v))
    .pipe(schema);

/** `true` or `false` (also `1`/`0`); empty or absent = the fallback. */
const flag = (fallback: boolean | undefined) =>
  optional(
    z
      .enum(['true', 'false', '1', '0'], 'must be true or false')
      .optional()
      .transform((v) => (v === undefined ? fallback : v === 'true' || v === '1')),
  );

/** An http(s) URL (the Access Manager, a JWKS). */
const httpUrl = z
  .string()
  .regex(/^https?:\/\/[^\s]+$/, 'must be an http:// or https:// URL')
  .refine((v) => URL.canParse(v), 'must be a valid URL');

export const EnvSchema = z.object({
  /** Only `test` runs without MASTER_KEYS (on a built-in key that seals nothing real). */
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /**
   * Interface of the HTTP server (REST, tRPC). Unset: `127.0.0.1` while auth is off (an open API
   * lets anyone read connections and make the worker dial), `0.0.0.0` with auth on.
   */
  API_HOST: optional(z.string().optional()),
  API_PORT: int(8080, 0, 65535),
  /**
   * How long a client may take to send a whole request (headers and body) before the server
   * answers `408 REQUEST_TIMEOUT` and closes the connection (a slow sender holds no socket for long).
   */
  API_REQUEST_TIMEOUT_MS: int(30_000, 100, 600_000),
  /** Where connections are stored; the scheme picks the store: mongodb(+srv):// or postgres(ql)://. */
  STORE_URL: z
    .string()
    .regex(
      /^(mongodb|mongodb\+srv|postgres|postgresql):\/\//,
      'must be a mongodb://, mongodb+srv:// or postgres:// URL',
    )
    // A MongoDB seed list with ports (`db1:27017,db2:27017`) is no WHATWG URL; its driver parses it.
    .refine((v) => v.startsWith('mongodb') || URL.canParse(v), 'must be a valid URL')
    .default('mongodb://127.0.0.1:27017/dbconn'),
  /**
   * Days a connection's history (changes and verification outcomes) is kept: a TTL index on
   * MongoDB, a periodic purge on PostgreSQL.
   */
  HISTORY_RETENTION_DAYS: int(90, 1, 3_650),
  /** Webhook deliveries: how long one attempt waits for the receiver's answer. */
  WEBHOOK_TIMEOUT_MS: int(10_000, 100, 60_000),
  /** Webhook deliveries: the first retry delay; it doubles at each attempt. */
  WEBHOOK_RETRY_BASE_MS: int(30_000, 10, 3_600_000),
  /** Webhook deliveries: retries stop once the next one would start later than this after the first attempt. */
  WEBHOOK_RETRY_WINDOW_MS: int(86_400_000, 100, 604_800_000),
  /** Failed attempts in a row after which an endpoint is turned off (and says so). */
  WEBHOOK_DISABLE_AFTER_FAILURES: int(30, 1, 100_000),
  /** Webhook deliveries one worker process runs at once. */
  WORKER_WEBHOOK_CONCURRENCY: int(4, 1, 1000),
  /**
   * Deadline of every store call (waiting for a pooled client included): past it the call fails
   * with 503 UNAVAILABLE and a client that may still have the call on the wire is destroyed, so a
   * frozen or silent store never hangs a request nor keeps a pooled client for good.
   */
  STORE_TIMEOUT_MS: int(5_000, 100, 600_000),
  /**
   * Store clients one process keeps at most (PostgreSQL pool `max`, MongoDB `maxPoolSize`). Size it
   * to the concurrent requests the process serves times the store calls each one holds a client for.
   */
  STORE_POOL_SIZE: int(10, 1, 1_000),
  /**
   * Redis for the queues, rate limits, caches and status events. With REDIS_SENTINELS or
   * REDIS_CLUSTER_NODES its host and port are not used, but its user, password, database number
   * (not on Cluster) and `rediss:` (TLS) still apply to the Redis servers themselves.
   */
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .refine((v) => URL.canParse(v), 'must be a valid URL')
    .default('redis://127.0.0.1:6379'),
  /** Redis Sentinel: the sentinels as `host:port,host:port`; the master is asked of them by name. */
  REDIS_SENTINELS: hostPorts,
  /** Redis Sentinel: the name the sentinels monitor the master under (`sentinel monitor <name> …`). */
  REDIS_SENTINEL_NAME: optional(z.string().max(200).optional()),
  /** Redis Sentinel: the sentinels' own password (`requirepass` of the sentinels), if any. */
  REDIS_SENTINEL_PASSWORD: optional(z.string().max(1024).optional()),
  /** Redis Cluster: some of the cluster's nodes as `host:port,…` (the rest are discovered). */
  REDIS_CLUSTER_NODES: hostPorts,
  /**
   * Prefix of every key the service keeps in Redis (queues, rate limits, caches, events), so several
   * deployments can share one Redis. Default `dbconn`, or `{dbconn}` on Redis Cluster, where the
   * prefix must be a `{hash tag}` so that every key lands in one slot (BullMQ's and the rate
   * limiter's scripts touch several keys at once).
   */
  QUEUE_PREFIX: optional(
    z
      .string()
      .regex(
        /^(?:[A-Za-z0-9_.-]+|\{[A-Za-z0-9_.-]+\}[A-Za-z0-9_.-]*)$/,
        'letters, digits, _ . - only, or {tag} first',
      )
      .optional(),
  ),
  MASTER_KEYS: masterKeys,
  /** The organization every request belongs to while auth is disabled. */
  DEFAULT_ORGANIZATION_ID: z.string().min(1).max(100).default('default'),
  /** Background verifications one worker process runs at once. */
  WORKER_CONCURRENCY: int(8, 1, 1000),
  /** Interactive jobs (test now, try before save, schema discovery) one worker process runs at once. */
  WORKER_INTERACTIVE_CONCURRENCY: int(4, 1, 1000),
  /**
   * The niceness the worker process gives itself at start (0–19; 0 = as started). Where the worker
   * shares CPUs with the API, background verifications then yield them to requests: a worker
   * draining a backlog beside the API cut its creates per second (bench/README.md, P1b).
   */
  WORKER_NICE: int(10, 0, 19),
  /** How long POST /{id}/test, POST /test and GET /{id}/schema wait for the worker before answering 504 WORKER_TIMEOUT. */
  INTERACTIVE_TIMEOUT_MS: int(15_000, 100, 600_000),
  /** Test and schema requests allowed per connection in each rate-limit window. */
  RATE_LIMIT_PER_CONNECTION: int(10, 1, 1_000_000),
  /**
   * Test and schema requests allowed per caller in each rate-limit window: per authenticated
   * subject and organization, or per client address while auth is off.
   */
  RATE_LIMIT_PER_CALLER: int(60, 1, 1_000_000),
  /** Test and schema requests allowed per organization (all its callers together) in each window. */
  RATE_LIMIT_PER_ORGANIZATION: int(300, 1, 1_000_000),
  /**
   * Creates and updates that enqueue a dial (a verification), per organization in each window, so
   * bulk creates cannot turn the worker into a port scanner.
   */
  RATE_LIMIT_DIALS_PER_ORGANIZATION: int(600, 1, 1_000_000),
  /**
   * Wrong queue-dashboard credentials allowed per client address in each window; after that the
   * address is answered 429 (even with the right credentials) until the window ends.
   */
  ADMIN_AUTH_FAILURES_PER_WINDOW: int(10, 1, 1_000_000),
  /** Length of the rate-limit window. */
  RATE_LIMIT_WINDOW_SECONDS: int(60, 1, 86_400),
  /** How long a discovered schema stays cached (it is also dropped on update and delete). */
  SCHEMA_CACHE_TTL_SECONDS: int(600, 1, 604_800),
  /** MongoDB: documents sampled per collection to list its top-level field names. */
  SCHEMA_SAMPLE_SIZE: int(100, 1, 10_000),
  /** Deadline of one whole verification (all stages). */
  VERIFY_TIMEOUT_MS: int(10_000, 100, 600_000),
  /** Deadline of one stage (dns, tcp, tls, auth, database, schema). */
  VERIFY_STAGE_TIMEOUT_MS: int(5_000, 50, 600_000),
  /** Attempts of a verification that fails with a transient code (DNS_TEMPORARY, TCP_*, timeouts). */
  VERIFY_ATTEMPTS: int(3, 1, 20),
  /** First retry delay; doubles at each attempt. */
  VERIFY_BACKOFF_MS: int(2_000, 0, 600_000),
  /** How often the sweeper looks for connections left pending/verifying. */
  SWEEP_INTERVAL_MS: int(30_000, 100, 86_400_000),
  /** A connection pending/verifying longer than this is re-enqueued by the sweeper. */
  SWEEP_STALE_AFTER_MS: int(120_000, 100, 86_400_000),
  /** Interface of the worker's operations server (/health, /ready, /metrics). */
  WORKER_HEALTH_HOST: z.string().min(1).default('0.0.0.0'),
  /** Port of the worker's operations server; 0 takes any free port. */
  WORKER_HEALTH_PORT: int(8081, 0, 65535),
  /**
   * Periodic re-verification (docs/contract.md §9): an `active` or `failed` connection whose last verification
   * is older than this is verified again. 0 turns it off; otherwise at least one minute, at most 30 days.
   */
  REVERIFY_INTERVAL_MS: z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(
      z
        .number()
        .int()
        .max(2_592_000_000)
        .refine((ms) => ms === 0 || ms >= 60_000, 'must be 0 (off) or at least 60000 (one minute)'),
    )
    .default(21_600_000),
  /** Most connections one re-verification tick enqueues; the rest wait for the next tick, oldest first. */
  REVERIFY_BATCH_SIZE: int(500, 1, 100_000),
  /**
   * `default` refuses link-local and cloud metadata addresses (and loopback when NODE_ENV=production);
   * `strict` also loopback and private ranges.
   */
  EGRESS_MODE: z.enum(['default', 'strict']).default('default'),
  /** Comma-separated CIDRs or host names always allowed (checked before the deny rules). */
  EGRESS_ALLOW: list,
  /** Comma-separated CIDRs or host names always refused. */
  EGRESS_DENY: list,
  /** Allow lists per organization: `tenant-a=10.1.0.0/16,db.internal;tenant-b=…`. */
  EGRESS_TENANT_ALLOW: tenantAllowLists,
  /** The network's own NAT64 prefixes (RFC 6052 lengths): addresses in them are judged as the IPv4 they embed. */
  EGRESS_NAT64_PREFIXES: list,
  /** Worker: DNS servers for connection hosts (`ip` or `ip:port`), instead of the system resolver. */
  DNS_SERVERS: dnsServers,
  /**
   * User name of the queue dashboard at /admin/queues (HTTP Basic). Set together with
   * ADMIN_PASSWORD; without both the dashboard is not mounted.
   */
  ADMIN_USER: optional(
    z
      .string()
      .max(100)
      .regex(/^[^:\p{Cc}]+$/u, 'must not contain ":" or control characters (HTTP Basic splits on ":")')
      .optional(),
  ),
  /** Password of the queue dashboard. Never logged; compared in constant time. */
  ADMIN_PASSWORD: optional(z.string().max(1024).optional()),

  // Access control (docs/contract.md §8). The names are the platform's: keep them.
  /** Ask the platform's Access Manager about every call (`POST <PLUGIN_AUTH_ADDRESS>/v1/authorize`). */
  PLUGIN_AUTH_ENABLED: flag(false),
  /** Base URL of the Access Manager; required when PLUGIN_AUTH_ENABLED=true. */
  PLUGIN_AUTH_ADDRESS: optional(httpUrl.optional()),
  /** Longest wait for the Access Manager's answer; slower is 503 AUTH_UNAVAILABLE (fail closed). */
  AUTH_TIMEOUT_MS: int(5_000, 100, 60_000),
  /** How long an Access Manager decision is reused for the same token and action; 0 = never. */
  AUTH_CACHE_TTL_SECONDS: int(0, 0, 3_600),
  /** PEM public keys or certificates that sign tokens, newline-joined (old and new overlap in a rotation). */
  AUTH_JWT_VERIFY_CERT: optional(z.string().optional()),
  /** A file holding the same as AUTH_JWT_VERIFY_CERT (read once at start). */
  AUTH_JWT_VERIFY_CERT_PATH: optional(z.string().optional()),
  /** A JWKS the signing keys are fetched from (cached; an unknown `kid` refetches it). */
  AUTH_JWKS_URL: optional(httpUrl.optional()),
  /** Shortest time between two JWKS fetches caused by unknown `kid`s (so forged kids cannot flood the JWKS). */
  AUTH_JWKS_COOLDOWN_SECONDS: int(30, 0, 3_600),
  /** HS256 shared secret; only with it are HMAC-signed tokens accepted. At least 32 characters. */
  AUTH_JWT_SECRET: optional(z.string().min(32, 'must be at least 32 characters').optional()),
  /** The `iss` a token must carry (checked when set). */
  AUTH_JWT_ISSUER: optional(z.string().optional()),
  /** The `aud` a token must carry, one of a comma-separated list (checked when set). */
  AUTH_JWT_AUDIENCE: optional(z.string().optional()),
  /** Leeway for `exp` and `nbf`, for clocks that disagree a little. */
  AUTH_CLOCK_SKEW_SECONDS: int(30, 0, 600),
  /**
   * Take the organization from a token claim (AUTH_TENANT_CLAIM); a token without it is refused.
   * The egress policy is then `strict` whatever EGRESS_MODE says (EGRESS_TENANT_ALLOW opens it per
   * organization).
   */
  MULTI_TENANT_ENABLED: flag(false),
  /** The claim that names the caller's organization. */
  AUTH_TENANT_CLAIM: z.string().min(1).max(100).default('tenantId'),
  /** The API refuses to start without working auth settings. Default: true when NODE_ENV=production. */
  AUTH_REQUIRED: flag(undefined),
  /** When set, /metrics needs `Authorization: Bearer <METRICS_TOKEN>`. At least 16 characters. */
  METRICS_TOKEN: optional(z.string().min(16, 'must be at least 16 characters').optional()),

  // OpenTelemetry traces (docs/contract.md §11). The names are OpenTelemetry's standard ones.
  /**
   * Base URL of an OTLP/HTTP collector (`http://collector:4318`); traces go to `<it>/v1/traces`.
   * Unset (and OTEL_EXPORTER_OTLP_TRACES_ENDPOINT unset): no tracing SDK is started at all.
   */
  OTEL_EXPORTER_OTLP_ENDPOINT: optional(httpUrl.optional()),
  /** The full URL traces are sent to, as is; wins over OTEL_EXPORTER_OTLP_ENDPOINT. */
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: optional(httpUrl.optional()),
  /** `service.name` of the spans. Default: `dbconn-api` for the API, `dbconn-worker` for the worker. */
  OTEL_SERVICE_NAME: optional(z.string().max(200).optional()),
  /** `true`: no tracing SDK even with an endpoint set. */
  OTEL_SDK_DISABLED: flag(false),
  /**
   * Which traces are kept, as OpenTelemetry names them: `parentbased_always_on` (the default),
   * `parentbased_traceidratio` with OTEL_TRACES_SAMPLER_ARG, `parentbased_always_off`, or the same
   * without `parentbased_` (a caller's sampled flag is then ignored). BullMQ's housekeeping spans
   * are never kept whatever the sampler.
   */
  OTEL_TRACES_SAMPLER: z
    .enum([
      'always_on',
      'always_off',
      'traceidratio',
      'parentbased_always_on',
      'parentbased_always_off',
      'parentbased_traceidratio',
    ])
    .default('parentbased_always_on'),
  /** The share of traces kept (0–1) with a `traceidratio` sampler; default 1. */
  OTEL_TRACES_SAMPLER_ARG: optional(
    z
      .string()
      .regex(/^(0(\.\d+)?|1(\.0+)?)$/, 'must be a number from 0 to 1')
      .transform(Number)
      .optional(),
  ),
});

export type Env = z.output<typeof EnvSchema>;
/** The names of every variable the service accepts (used to check docker-compose and docs). */
export const ENV_VARIABLES = Object.keys(EnvSchema.shape) as (keyof Env)[];
