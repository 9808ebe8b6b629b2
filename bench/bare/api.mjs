// The bare floor of a create: a minimal Fastify handler doing exactly one store insert and one
// BullMQ add, with Fastify's own request log at info (to the same /dev/null as the service's).
// Plain JavaScript run by plain node, as the service's built output is. Started by bench/src/main.ts.
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import pg from 'pg';

const { BARE_STORE_URL, BARE_SCHEMA, BARE_STORE_APP, REDIS_URL, BARE_PREFIX, PORT } = process.env;
const pool = new pg.Pool({
  connectionString: BARE_STORE_URL,
  options: `-c search_path=${BARE_SCHEMA}`,
  application_name: BARE_STORE_APP,
});
const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
const queue = new Queue('verify', {
  connection: redis,
  prefix: BARE_PREFIX,
  defaultJobOptions: { removeOnComplete: { count: 1000 }, removeOnFail: { count: 5000 } },
});

const app = Fastify({ logger: { level: 'info' } });
app.post('/v1/management/connections', async (req, reply) => {
  const b = req.body;
  const id = randomUUID();
  const now = new Date();
  await pool.query(
    `INSERT INTO connections (id, organization_id, config_name, config_name_key, type, host, port, database_name,
      user_name, schema, ssl_mode, sealed_secrets, metadata, status, version, dial_version, created_at, updated_at,
      status_changed_at)
     VALUES ($1, 'default', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb, 'pending', 1, 1, $13, $13, $13)`,
    [
      id,
      b.configName,
      b.configName.toLowerCase(),
      b.type,
      b.host,
      b.port,
      b.databaseName,
      b.userName,
      b.schema ?? null,
      b.ssl?.mode ?? null,
      b.password,
      JSON.stringify(b.metadata ?? {}),
      now,
    ],
  );
  await queue.add(
    'verify-connection',
    { connectionId: id, organizationId: 'default', dialVersion: 1, reason: 'created' },
    { jobId: `verify-${id}-v1`, attempts: 3 },
  );
  reply.code(201);
  return { id, ...b, password: undefined, status: 'pending', createdAt: now, updatedAt: now };
});

process.on('SIGTERM', async () => {
  await app.close();
  await queue.close();
  redis.disconnect();
  await pool.end();
  process.exit(0);
});
await app.listen({ host: '127.0.0.1', port: Number(PORT) });
process.send?.({ ready: true });
