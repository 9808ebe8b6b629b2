import { randomBytes } from 'node:crypto';
import {
  type Config,
  type ConnectionRecord,
  type ConnectionStore,
  createLogger,
  createRedis,
  createStore,
  createVerifyQueue,
  type Logger,
  loadConfig,
  type Queue,
  type Redis,
  type StandaloneRedis,
  sealSecrets,
  uuidv7,
  type VerifyConnectionJob,
} from '@dbconn/shared';
import type { Job } from 'bullmq';
import pg from 'pg';
import { ensureStoreDatabase, STORE_DATABASE_URL } from './fixtures/store-database.js';

export const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = 'redis://127.0.0.1:6379';

/** One isolated world per test file / describe: its own PG schema and its own queue prefix. */
export interface Env {
  config: Config;
  log: Logger;
  /** Every log line written through `log`, raw JSON. */
  logs: string[];
  store: ConnectionStore;
  redis: StandaloneRedis;
  queue: Queue<VerifyConnectionJob>;
  organizationId: string;
  close(): Promise<void>;
}

export async function openEnv(env: Record<string, string> = {}): Promise<Env> {
  const suffix = randomBytes(4).toString('hex');
  const schema = `worker_t_${suffix}`;
  await ensureStoreDatabase();
  const config = loadConfig({
    NODE_ENV: 'test',
    STORE_URL: `${STORE_DATABASE_URL}?schema=${schema}`,
    REDIS_URL,
    QUEUE_PREFIX: `dbconn_wt_${suffix}`,
    LOG_LEVEL: 'debug',
    ...env,
  });
  const logs: string[] = [];
  const log = createLogger(
    { level: config.log.level, name: 'worker-test' },
    { write: (line: string) => void logs.push(line) },
  );
  const store = await createStore(config.store.url, config.store);
  await store.init();
  const redis = createRedis(config.redis.url);
  await waitUntilReady(redis);
  const queue = createVerifyQueue(redis, config.redis.prefix);
  return {
    config,
    log,
    logs,
    store,
    redis,
    queue,
    organizationId: `org-${suffix}`,
    close: async () => {
      await queue.obliterate({ force: true });
      await queue.close();
      redis.disconnect();
      await store.close();
      const admin = new pg.Client({ connectionString: STORE_DATABASE_URL });
      await admin.connect();
      await admin.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
      await admin.end();
    },
  };
}

export async function waitUntilReady(redis: Redis): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    redis.once('ready', () => resolve());
    redis.once('error', reject);
  });
}

/**
 * Stores a connection the way the API does: sealed secrets, status pending. The password is
 * random so a test can look for it in logs and Redis.
 */
export async function insertConnection(
  env: Env,
  overrides: Partial<ConnectionRecord> = {},
  password = `pw-${randomBytes(6).toString('hex')}`,
): Promise<ConnectionRecord & { password: string }> {
  const now = new Date();
  const id = overrides.id ?? uuidv7();
  const organizationId = overrides.organizationId ?? env.organizationId;
  const record: ConnectionRecord = {
    id,
    organizationId,
    configName: `conn-${id.slice(-12)}`,
    type: 'POSTGRESQL',
    host: '127.0.0.1',
    port: 5432,
    databaseName: 'test',
    userName: 'postgres',
    sealedSecrets: sealSecrets(
      { keys: env.config.secrets.keys },
      { password },
      { organizationId, connectionId: id },
    ),
    metadata: {},
    status: 'pending',
    version: 1,
    dialVersion: 1,
    createdAt: now,
    updatedAt: now,
    statusChangedAt: now,
    ...overrides,
  };
  await env.store.insert(record);
  return { ...record, password };
}

export const jobFor = (record: ConnectionRecord, reason: VerifyConnectionJob['reason'] = 'created') => ({
  connectionId: record.id,
  organizationId: record.organizationId,
  dialVersion: record.dialVersion,
  reason,
});

/** Polls until `check` returns a value other than undefined (no fixed sleeps in assertions). */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The job once it is completed or failed for good. */
export async function settled(
  queue: Queue,
  jobId: string,
  timeoutMs = 20_000,
): Promise<{ job: Job; state: string }> {
  return eventually(
    async () => {
      const state = await queue.getJobState(jobId);
      if (state !== 'completed' && state !== 'failed') return undefined;
      // Read the job after its state is final: a copy read before would miss the outcome.
      const job = await queue.getJob(jobId);
      return job ? { job, state } : undefined;
    },
    timeoutMs,
    `job ${jobId} to settle`,
  );
}

export { closedPort, startSilentServer as silentServer } from './fixtures/index.js';
