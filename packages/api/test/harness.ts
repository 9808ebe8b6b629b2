import { randomBytes } from 'node:crypto';
import {
  type ConnectionStore,
  createLogger,
  createRedis,
  createStore,
  createVerifyQueue,
  loadConfig,
  type Queue,
  type Redis,
  type StandaloneRedis,
  type VerifyConnectionJob,
} from '@dbconn/shared';
import { TEST_CA_PEM } from '@dbconn/shared/test-fixtures/pem';
import { ensureStoreDatabase, STORE_DATABASE_URL } from '@dbconn/worker/test-fixtures';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { buildServer } from '../src/app.js';

/** The database the tests verify against (the stores live in another one: STORE_DATABASE_URL). */
export const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = 'redis://127.0.0.1:6379';

export interface Harness {
  url: string;
  /** The environment the API was configured with: give it to a worker process to share store and queue. */
  env: Record<string, string>;
  app: FastifyInstance;
  store: ConnectionStore;
  queue: Queue<VerifyConnectionJob>;
  redis: Redis;
  /**
   * Everything this server keeps in Redis (every key under its queue prefix, whatever its type),
   * as one text: for asserting that a secret is nowhere in it, without knowing the key layout.
   */
  redisDump(): Promise<string>;
  /** Every log line the server wrote, as raw JSON text. */
  logs: string[];
  /** The raw rows of the store's table, as PostgreSQL returns them. */
  rawRows(): Promise<Record<string, unknown>[]>;
  /**
   * Every row of every table in this server's store schema (whatever tables the migrations made),
   * as one text in a fixed order: two dumps are equal exactly when nothing was written between them.
   */
  storeDump(): Promise<string>;
  /** Makes a connection's stored secrets unreadable, as if sealed under a master key version since removed. */
  damageSecrets(id: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * A real API server on port 0 over a real PostgreSQL store (in its own schema) and a real Redis
 * (under its own queue prefix). Nothing is mocked.
 */
export async function startApi(env: Record<string, string> = {}): Promise<Harness> {
  const suffix = randomBytes(4).toString('hex');
  const schema = `api_t_${suffix}`;
  const prefix = `dbconn_t_${suffix}`;
  const fullEnv: Record<string, string> = {
    NODE_ENV: 'test',
    STORE_URL: `${STORE_DATABASE_URL}?schema=${schema}`,
    REDIS_URL,
    QUEUE_PREFIX: prefix,
    LOG_LEVEL: 'debug',
    // Worker processes started with this env take any free port for /health and /metrics.
    WORKER_HEALTH_PORT: '0',
    ...env,
  };
  await ensureStoreDatabase();
  const config = loadConfig(fullEnv);
  const logs: string[] = [];
  const log = createLogger(
    { level: config.log.level, name: 'api-test' },
    { write: (line: string) => void logs.push(line) },
  );
  const store = await createStore(config.store.url, config.store);
  await store.init();
  const redis = createRedis(config.redis);
  const queue = createVerifyQueue(redis, config.redis.prefix);
  const app = await buildServer({
    config,
    log,
    store,
    redis,
    verifyQueue: queue,
    keyring: { keys: config.secrets.keys },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const admin = new pg.Client({ connectionString: STORE_DATABASE_URL });
  await admin.connect();
  return {
    url: `http://127.0.0.1:${port}`,
    env: fullEnv,
    app,
    store,
    queue,
    redis,
    redisDump: () => dumpRedis(redis, config.redis.prefix),
    logs,
    rawRows: async () => (await admin.query(`SELECT * FROM "${schema}".connections`)).rows,
    storeDump: () => dumpStore(admin, schema),
    damageSecrets: async (id) => {
      await admin.query(
        `UPDATE "${schema}".connections SET sealed_secrets = 'v9.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA.AAAA' WHERE id = $1`,
        [id],
      );
    },
    close: async () => {
      await app.close();
      await queue.obliterate({ force: true });
      await queue.close();
      redis.disconnect();
      await store.close();
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.end();
    },
  };
}

async function dumpStore(admin: pg.Client, schema: string): Promise<string> {
  const tables = await admin.query<{ name: string }>(
    `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`,
    [schema],
  );
  const dump: Record<string, unknown> = {};
  for (const { name } of tables.rows) {
    const rows = await admin.query(
      `SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY to_jsonb(t)::text), '[]') AS rows FROM "${schema}"."${name}" t`,
    );
    dump[name] = rows.rows[0]?.rows;
  }
  return JSON.stringify(dump);
}

async function dumpRedis(redis: Redis, prefix: string): Promise<string> {
  const values: unknown[] = [];
  const nodes: StandaloneRedis[] = 'scanStream' in redis ? [redis] : redis.nodes('master');
  for (const node of nodes) {
    for await (const keys of node.scanStream({ match: `${prefix}:*`, count: 500 })) {
      for (const key of keys as string[]) {
        const type = await redis.type(key);
        if (type === 'string') values.push(await redis.get(key));
        else if (type === 'hash') values.push(await redis.hgetall(key));
        else if (type === 'list') values.push(await redis.lrange(key, 0, -1));
        else if (type === 'set') values.push(await redis.smembers(key));
        else if (type === 'zset') values.push(await redis.zrange(key, 0, -1));
        else if (type === 'stream') values.push(await redis.xrange(key, '-', '+'));
        values.push(key);
      }
    }
  }
  return JSON.stringify(values);
}

/** The seed's create body (../shared/seed/create-connection.txt), verbatim but for a CA that parses. */
export const seedBody = () => ({
  configName: 'production-db',
  type: 'POSTGRESQL',
  host: 'db.example.com',
  port: 5432,
  databaseName: 'mydatabase',
  userName: 'dbuser',
  password: 'secretpassword',
  schema: 'public',
  ssl: {
    mode: 'require',
    // The original page's example holds a truncated placeholder, which is refused at input now.
    ca: TEST_CA_PEM,
  },
  metadata: { environment: 'production', team: 'data-engineering' },
});

export interface Reply {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON bodies
  body: any;
}

/** A curl-shaped request: JSON in, status + headers + parsed body out. */
export async function http(
  h: Pick<Harness, 'url'>,
  method: string,
  path: string,
  options: { body?: unknown; raw?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | undefined;
  if (options.raw !== undefined) body = options.raw;
  else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(`${h.url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

export const createSeed = (h: Harness, overrides: Record<string, unknown> = {}, product = 'my-product') =>
  http(h, 'POST', '/v1/management/connections', {
    body: { ...seedBody(), ...overrides },
    headers: { 'x-product-name': product },
  });
