import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';
import { ENV_VARIABLES } from './config-env.js';

const KEY = Buffer.alloc(32, 7).toString('base64');
/** A configuration as a test process gets it (the only NODE_ENV that runs without MASTER_KEYS). */
const load = (env: Record<string, string>) => loadConfig({ NODE_ENV: 'test', ...env });

describe('config', () => {
  it('has working defaults', () => {
    const config = loadConfig({ MASTER_KEYS: `1:${KEY}` });
    expect(config.env).toBe('development');
    expect(config.api).toMatchObject({ host: '127.0.0.1', port: 8080 });
    expect(config.store.url).toMatch(/^mongodb:/);
    expect(config.secrets.usingTestKey).toBe(false);
    expect(config.verify.timeoutMs).toBe(10_000);
  });

  it('with auth off, listens on loopback unless API_HOST says otherwise; with auth on, everywhere', () => {
    expect(load({}).api.host).toBe('127.0.0.1');
    expect(load({ API_HOST: '' }).api.host).toBe('127.0.0.1');
    expect(load({ API_HOST: '0.0.0.0' }).api.host).toBe('0.0.0.0');
    expect(load({ AUTH_JWT_SECRET: 'x'.repeat(32) }).api.host).toBe('0.0.0.0');
    expect(load({ PLUGIN_AUTH_ENABLED: 'true', PLUGIN_AUTH_ADDRESS: 'http://am.internal' }).api.host).toBe(
      '0.0.0.0',
    );
    expect(load({ AUTH_JWT_SECRET: 'x'.repeat(32), API_HOST: '10.0.0.5' }).api.host).toBe('10.0.0.5');
  });

  it('names every bad variable', () => {
    try {
      load({ API_PORT: 'eighty', STORE_URL: 'mysql://x', EGRESS_MODE: 'loose' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const message = (err as Error).message;
      expect(message).toContain('API_PORT');
      expect(message).toContain('STORE_URL');
      expect(message).toContain('EGRESS_MODE');
    }
  });

  it('STORE_URL: a PostgreSQL URL that does not parse is refused by name; a MongoDB seed list with ports is not', () => {
    expect(() => load({ STORE_URL: 'postgres://a:b@[bad/x' })).toThrow(/STORE_URL: must be a valid URL/);
    const seeds = 'mongodb://u:p@db1:27017,db2:27017,db3:27017/dbconn?replicaSet=rs0';
    expect(load({ STORE_URL: seeds }).store.url).toBe(seeds);
  });

  it('refuses to start without a master key, unless NODE_ENV=test', () => {
    for (const env of [{}, { NODE_ENV: 'development' }, { NODE_ENV: 'production' }, { MASTER_KEYS: '' }])
      expect(() => loadConfig(env)).toThrow(/MASTER_KEYS: required/);
    expect(loadConfig({ NODE_ENV: 'production', MASTER_KEYS: `1:${KEY}` }).secrets.usingTestKey).toBe(false);
    const test = loadConfig({ NODE_ENV: 'test' });
    expect(test.secrets.usingTestKey).toBe(true);
    expect(test.secrets.keys.get(1)?.length).toBeGreaterThanOrEqual(32);
  });

  it('parses several master key versions and rejects short keys', () => {
    const config = load({ MASTER_KEYS: `1:${KEY}, 2:${Buffer.alloc(48, 1).toString('base64')}` });
    expect([...config.secrets.keys.keys()]).toEqual([1, 2]);
    expect(() => load({ MASTER_KEYS: `1:${Buffer.alloc(16).toString('base64')}` })).toThrow(/MASTER_KEYS/);
    expect(() => load({ MASTER_KEYS: 'just-a-string' })).toThrow(/MASTER_KEYS/);
    expect(() => load({ MASTER_KEYS: ' , ' })).toThrow(/MASTER_KEYS/);
  });

  it('splits egress lists', () => {
    const config = load({ EGRESS_ALLOW: '10.0.0.0/8, db.internal ,', EGRESS_MODE: 'strict' });
    expect(config.egress).toMatchObject({ mode: 'strict', allow: ['10.0.0.0/8', 'db.internal'], deny: [] });
  });

  it('makes egress strict when multi-tenant, refuses loopback in production, and reads per-organization lists', () => {
    const tokens = { AUTH_JWT_SECRET: 'x'.repeat(32) };
    expect(load({ ...tokens, MULTI_TENANT_ENABLED: 'true', EGRESS_MODE: 'default' }).egress.mode).toBe(
      'strict',
    );
    expect(load({}).egress).toMatchObject({ mode: 'default', refuseLoopback: false });
    expect(
      loadConfig({ NODE_ENV: 'production', MASTER_KEYS: `1:${KEY}`, AUTH_REQUIRED: 'false' }).egress
        .refuseLoopback,
    ).toBe(true);
    const config = load({
      EGRESS_TENANT_ALLOW: 'tenant-a=10.1.0.0/16, db.internal ; tenant-b=192.168.5.0/24;',
      EGRESS_NAT64_PREFIXES: '2001:db8:64::/96',
    });
    expect(config.egress.tenantAllow).toEqual({
      'tenant-a': ['10.1.0.0/16', 'db.internal'],
      'tenant-b': ['192.168.5.0/24'],
    });
    expect(config.egress.nat64Prefixes).toEqual(['2001:db8:64::/96']);
    expect(() => load({ EGRESS_TENANT_ALLOW: 'no-equals-sign' })).toThrow(/EGRESS_TENANT_ALLOW/);
    expect(() => load({ EGRESS_TENANT_ALLOW: 'a=10.0.0.0/8;a=db.x' })).toThrow(/EGRESS_TENANT_ALLOW/);
  });

  it('reads DNS_SERVERS as addresses with an optional port', () => {
    expect(load({ DNS_SERVERS: '10.0.0.2, 127.0.0.1:5353,[::1]:53' }).dns.servers).toEqual([
      '10.0.0.2',
      '127.0.0.1:5353',
      '[::1]:53',
    ]);
    expect(() => load({ DNS_SERVERS: 'dns.example.com' })).toThrow(/DNS_SERVERS/);
    expect(() => load({ DNS_SERVERS: '10.0.0.2:99999' })).toThrow(/DNS_SERVERS/);
  });

  it("lists the service's own endpoints", () => {
    const config = load({ STORE_URL: 'postgres://127.0.0.1:5432/dbconn', API_PORT: '9000' });
    expect(config.selfEndpoints).toEqual({
      storeUrl: 'postgres://127.0.0.1:5432/dbconn',
      redisUrl: 'redis://127.0.0.1:6379',
      redisNodes: [],
      listeners: [
        { role: 'api', host: '0.0.0.0', port: 9000 },
        { role: 'worker', host: '0.0.0.0', port: 8081 },
      ],
    });
  });

  it('runs the worker at niceness 10 unless WORKER_NICE says otherwise (0–19)', () => {
    expect(load({}).worker.nice).toBe(10);
    expect(load({ WORKER_NICE: '0' }).worker.nice).toBe(0);
    expect(() => load({ WORKER_NICE: '20' })).toThrow(/WORKER_NICE/);
  });

  it('lists its variables', () => {
    expect(ENV_VARIABLES).toContain('STORE_URL');
    expect(ENV_VARIABLES).toContain('MASTER_KEYS');
  });
});

describe('Redis deployments', () => {
  it('one server by default, under the prefix dbconn', () => {
    expect(load({}).redis).toEqual({
      url: 'redis://127.0.0.1:6379',
      topology: { kind: 'standalone' },
      prefix: 'dbconn',
    });
  });

  it('Sentinel: the sentinels, the master name and the sentinels password', () => {
    const { redis, selfEndpoints } = load({
      REDIS_SENTINELS: 'sentinel-1:26379, [::1]:26380',
      REDIS_SENTINEL_NAME: 'dbconn-master',
      REDIS_SENTINEL_PASSWORD: 'sentinel-secret',
    });
    expect(redis.topology).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: 'sentinel-1', port: 26379 },
        { host: '::1', port: 26380 },
      ],
      name: 'dbconn-master',
      sentinelPassword: 'sentinel-secret',
    });
    expect(redis.prefix).toBe('dbconn');
    // The worker never dials the sentinels for a connection.
    expect(selfEndpoints.redisNodes).toEqual([
      { host: 'sentinel-1', port: 26379 },
      { host: '::1', port: 26380 },
    ]);
    expect(() => load({ REDIS_SENTINELS: 'sentinel-1:26379' })).toThrow(/REDIS_SENTINEL_NAME: required/);
    expect(() => load({ REDIS_SENTINEL_NAME: 'dbconn' })).toThrow(/REDIS_SENTINELS: required/);
    expect(() => load({ REDIS_SENTINELS: 'sentinel-1', REDIS_SENTINEL_NAME: 'm' })).toThrow(
      /REDIS_SENTINELS: "sentinel-1" is not host:port/,
    );
  });

  it('Cluster: the prefix is a {hash tag} by default, and must be one when given', () => {
    const { redis } = load({ REDIS_CLUSTER_NODES: '10.0.0.1:7000,10.0.0.2:7000' });
    expect(redis.topology).toEqual({
      kind: 'cluster',
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 7000 },
      ],
    });
    expect(redis.prefix).toBe('{dbconn}');
    expect(load({ REDIS_CLUSTER_NODES: 'n:7000', QUEUE_PREFIX: '{team-a}' }).redis.prefix).toBe('{team-a}');
    expect(() => load({ REDIS_CLUSTER_NODES: 'n:7000', QUEUE_PREFIX: 'team-a' })).toThrow(
      /QUEUE_PREFIX: must start with a \{hash tag\}/,
    );
    expect(() => load({ REDIS_CLUSTER_NODES: 'n:7000', REDIS_URL: 'redis://n:7000/2' })).toThrow(
      /REDIS_URL: Redis Cluster has only database 0/,
    );
    expect(() =>
      load({ REDIS_CLUSTER_NODES: 'n:7000', REDIS_SENTINELS: 's:26379', REDIS_SENTINEL_NAME: 'm' }),
    ).toThrow(/not both/);
  });

  it('a hash-tagged prefix is allowed on one server too; stray braces are not', () => {
    expect(load({ QUEUE_PREFIX: '{dbconn}' }).redis.prefix).toBe('{dbconn}');
    expect(() => load({ QUEUE_PREFIX: 'db{conn' })).toThrow(/QUEUE_PREFIX/);
  });
});

describe('queue dashboard credentials', () => {
  it('are absent unless both ADMIN_USER and ADMIN_PASSWORD are set (empty counts as unset)', () => {
    expect(load({}).admin.credentials).toBeUndefined();
    expect(load({ ADMIN_USER: '', ADMIN_PASSWORD: '' }).admin.credentials).toBeUndefined();
    expect(load({ ADMIN_USER: 'ops', ADMIN_PASSWORD: 's3cret pass' }).admin.credentials).toEqual({
      user: 'ops',
      password: 's3cret pass',
    });
  });

  it('refuses one without the other, naming the missing one', () => {
    expect(() => load({ ADMIN_USER: 'ops' })).toThrow(/ADMIN_PASSWORD: required when ADMIN_USER/);
    expect(() => load({ ADMIN_PASSWORD: 'x', ADMIN_USER: '' })).toThrow(
      /ADMIN_USER: required when ADMIN_PASSWORD/,
    );
  });

  it('wants a password of at least 16 characters in production', () => {
    const production = { NODE_ENV: 'production', MASTER_KEYS: `1:${Buffer.alloc(32, 7).toString('base64')}` };
    expect(() => load({ ...production, ADMIN_USER: 'ops', ADMIN_PASSWORD: 'short' })).toThrow(
      /ADMIN_PASSWORD: at least 16 characters/,
    );
    expect(
      load({ ...production, ADMIN_USER: 'ops', ADMIN_PASSWORD: 'x'.repeat(16) }).admin.credentials,
    ).toBeDefined();
  });

  it('refuses a user name HTTP Basic cannot carry', () => {
    expect(() => load({ ADMIN_USER: 'a:b', ADMIN_PASSWORD: 'x' })).toThrow(/ADMIN_USER/);
    expect(() => load({ ADMIN_USER: 'a\nb', ADMIN_PASSWORD: 'x' })).toThrow(/ADMIN_USER/);
  });

  it('lists them among the variables', () => {
    expect(ENV_VARIABLES).toEqual(expect.arrayContaining(['ADMIN_USER', 'ADMIN_PASSWORD']));
  });
});

describe('worker operations', () => {
  it('serves /health, /ready and /metrics on 0.0.0.0:8081 and re-verifies every 6 h by default', () => {
    const config = load({});
    expect(config.worker.health).toEqual({ host: '0.0.0.0', port: 8081 });
    expect(config.reverify).toEqual({ intervalMs: 21_600_000, batchSize: 500 });
  });

  it('takes 0 to turn re-verification off, and refuses an interval under a minute', () => {
    expect(load({ REVERIFY_INTERVAL_MS: '0' }).reverify.intervalMs).toBe(0);
    expect(load({ REVERIFY_INTERVAL_MS: '60000' }).reverify.intervalMs).toBe(60_000);
    expect(() => load({ REVERIFY_INTERVAL_MS: '59999' })).toThrow(/REVERIFY_INTERVAL_MS: must be 0/);
    expect(() => load({ REVERIFY_INTERVAL_MS: '6h' })).toThrow(/REVERIFY_INTERVAL_MS/);
    expect(() => load({ REVERIFY_BATCH_SIZE: '0' })).toThrow(/REVERIFY_BATCH_SIZE/);
  });

  it('refuses a port out of range, naming it', () => {
    expect(load({ WORKER_HEALTH_PORT: '0', WORKER_HEALTH_HOST: '127.0.0.1' }).worker.health).toEqual({
      host: '127.0.0.1',
      port: 0,
    });
    expect(() => load({ WORKER_HEALTH_PORT: '65536' })).toThrow(/WORKER_HEALTH_PORT/);
  });

  it('lists them among the variables', () => {
    expect(ENV_VARIABLES).toEqual(
      expect.arrayContaining([
        'WORKER_HEALTH_HOST',
        'WORKER_HEALTH_PORT',
        'REVERIFY_INTERVAL_MS',
        'REVERIFY_BATCH_SIZE',
      ]),
    );
  });
});

describe('access control settings (docs/contract.md §8)', () => {
  it('requires auth by default in production only', () => {
    expect(load({}).auth.required).toBe(false);
    expect(loadConfig({ NODE_ENV: 'production', MASTER_KEYS: `1:${KEY}` }).auth.required).toBe(true);
    expect(
      loadConfig({ NODE_ENV: 'production', MASTER_KEYS: `1:${KEY}`, AUTH_REQUIRED: 'false' }).auth.required,
    ).toBe(false);
    expect(load({ AUTH_REQUIRED: 'true' }).auth.required).toBe(true);
  });

  it('refuses half-configured auth, naming what is missing', () => {
    expect(() => load({ PLUGIN_AUTH_ENABLED: 'true' })).toThrow(/PLUGIN_AUTH_ADDRESS: required/);
    expect(() => load({ PLUGIN_AUTH_ADDRESS: 'http://am:8080' })).toThrow(/PLUGIN_AUTH_ENABLED/);
    expect(() => load({ AUTH_JWT_ISSUER: 'https://issuer' })).toThrow(/AUTH_JWT_ISSUER/);
    expect(() => load({ AUTH_JWT_AUDIENCE: 'dbconn' })).toThrow(/AUTH_JWT_AUDIENCE/);
    expect(() => load({ MULTI_TENANT_ENABLED: 'true' })).toThrow(/MULTI_TENANT_ENABLED/);
    expect(() => load({ PLUGIN_AUTH_ENABLED: 'yes' })).toThrow(/PLUGIN_AUTH_ENABLED/);
    expect(() => load({ PLUGIN_AUTH_ENABLED: 'true', PLUGIN_AUTH_ADDRESS: 'am:8080' })).toThrow(
      /PLUGIN_AUTH_ADDRESS/,
    );
    expect(() => load({ AUTH_JWT_SECRET: 'short' })).toThrow(/AUTH_JWT_SECRET/);
    expect(() => load({ METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN/);
  });

  it('reads the Access Manager, the key sources and the tenant claim', () => {
    const config = load({
      PLUGIN_AUTH_ENABLED: 'true',
      PLUGIN_AUTH_ADDRESS: 'http://access-manager:8080',
      AUTH_JWKS_URL: 'https://issuer/.well-known/jwks.json',
      AUTH_JWT_AUDIENCE: 'dbconn, reports',
      MULTI_TENANT_ENABLED: 'true',
      AUTH_TENANT_CLAIM: 'org',
    });
    expect(config.auth.accessManager).toEqual({
      address: 'http://access-manager:8080',
      timeoutMs: 5_000,
      cacheTtlSeconds: 0,
    });
    expect(config.auth.jwt.audience).toEqual(['dbconn', 'reports']);
    expect(config.auth.jwt.clockSkewSeconds).toBe(30);
    expect(config.auth.tenantClaim).toBe('org');
    expect(load({ AUTH_JWT_SECRET: 'x'.repeat(32) }).auth.tenantClaim).toBeUndefined();
    expect(load({ PLUGIN_AUTH_ENABLED: '' }).auth.accessManager).toBeUndefined();
  });

  it('lists them among the variables, with the platform names', () => {
    for (const name of [
      'PLUGIN_AUTH_ENABLED',
      'PLUGIN_AUTH_ADDRESS',
      'AUTH_TIMEOUT_MS',
      'AUTH_CACHE_TTL_SECONDS',
      'AUTH_JWT_VERIFY_CERT',
      'AUTH_JWT_VERIFY_CERT_PATH',
      'AUTH_JWKS_URL',
      'AUTH_JWT_ISSUER',
      'AUTH_JWT_AUDIENCE',
      'AUTH_CLOCK_SKEW_SECONDS',
      'AUTH_JWT_SECRET',
      'MULTI_TENANT_ENABLED',
      'AUTH_TENANT_CLAIM',
      'AUTH_REQUIRED',
      'METRICS_TOKEN',
    ]) {
      expect(ENV_VARIABLES).toContain(name);
    }
  });
});
