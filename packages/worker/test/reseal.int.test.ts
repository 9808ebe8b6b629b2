import { randomBytes } from 'node:crypto';
import {
  type ConnectionRecord,
  createWebhookQueue,
  emitWebhookEvent,
  JOB_NAMES,
  newWebhookSecret,
  openSecrets,
  SECRET_OVERLAP_MS,
  SealError,
  sealedKeyVersion,
  sealWebhookSecrets,
  toConnection,
  uuidv7,
  type WebhookRecord,
} from '@dbconn/shared';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeliverWebhookProcessor } from '../src/processors/deliver-webhook.processor.js';
import { startWorker } from '../src/worker.js';
import { type Env, eventually, insertConnection, openEnv } from './e2e-fixtures.js';
import { startWebhookReceiver } from './fixtures/index.js';
import { runReseal } from './fixtures/reseal.js';

const k1 = randomBytes(32);
const k2 = randomBytes(32);
const MASTER_KEYS_V1 = `1:${k1.toString('base64')}`;
const MASTER_KEYS_V1_V2 = `${MASTER_KEYS_V1},2:${k2.toString('base64')}`;
/** The counts of a kind the run found nothing of. */
const NOTHING = { scanned: 0, resealed: 0, alreadyCurrent: 0, skipped: 0, failed: 0 };

describe('the reseal command (PostgreSQL store)', () => {
  let env: Env;
  let commandEnv: Record<string, string>;

  beforeAll(async () => {
    // The API and workers ran with key 1 only; the rotation adds key 2.
    env = await openEnv({ MASTER_KEYS: MASTER_KEYS_V1 });
    commandEnv = {
      NODE_ENV: 'production',
      STORE_URL: env.config.store.url,
      MASTER_KEYS: MASTER_KEYS_V1_V2,
      LOG_LEVEL: 'info',
    };
  });
  afterAll(async () => {
    await env?.close();
  });

  it('re-seals under the newest key, prints the report, and exits 1 while a record does not open, 0 after', async () => {
    const connections = [
      await insertConnection(env),
      await insertConnection(env),
      await insertConnection(env),
    ];
    const garbage = await insertConnection(env, {
      sealedSecrets: 'v1.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA.AAAA',
    });

    const first = await runReseal(commandEnv);
    expect(first.code, first.stderr).toBe(1);
    expect(JSON.parse(first.stdout)).toEqual({
      keyVersion: 2,
      connections: { scanned: 4, resealed: 3, alreadyCurrent: 0, skipped: 0, failed: 1 },
      webhooks: NOTHING,
    });
    // The failure is in the log (stderr) by id; no secret is anywhere in the output.
    const failure = first.stderr
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line))
      .find((line) => line.msg === 'sealed secrets do not open');
    expect(failure).toMatchObject({ connectionId: garbage.id, level: 50 });
    for (const { password, sealedSecrets } of connections) {
      expect(first.stdout + first.stderr).not.toContain(password);
      expect(first.stdout + first.stderr).not.toContain(sealedSecrets);
    }

    const onlyV2 = { keys: new Map([[2, k2]]) };
    for (const connection of connections) {
      const { password, ...inserted } = connection;
      const stored = await env.store.findById({ organizationId: connection.organizationId }, connection.id);
      const context = { organizationId: connection.organizationId, connectionId: connection.id };
      expect(sealedKeyVersion(stored?.sealedSecrets ?? '')).toBe(2);
      expect(openSecrets(onlyV2, stored?.sealedSecrets ?? '', context)).toEqual({ password });
      expect(stored).toEqual<ConnectionRecord>({ ...inserted, sealedSecrets: stored?.sealedSecrets ?? '' });
    }
    // Key 1 alone no longer opens them: they really moved.
    const onlyV1 = { keys: new Map([[1, k1]]) };
    const moved = await env.store.findById({ organizationId: env.organizationId }, connections[0]?.id ?? '');
    expect(() =>
      openSecrets(onlyV1, moved?.sealedSecrets ?? '', {
        organizationId: env.organizationId,
        connectionId: connections[0]?.id ?? '',
      }),
    ).toThrow(SealError);

    // The broken connection is deleted; the next run has nothing to do and succeeds.
    await env.store.softDelete({ organizationId: env.organizationId }, garbage.id);
    const second = await runReseal(commandEnv);
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout)).toEqual({
      keyVersion: 2,
      connections: { scanned: 3, resealed: 0, alreadyCurrent: 3, skipped: 0, failed: 0 },
      webhooks: NOTHING,
    });
  });

  it("re-seals webhooks' signing secrets too: with key 1 gone, a worker still signs with both secrets of a rotation", async () => {
    const receiver = await startWebhookReceiver();
    const queue = createWebhookQueue(env.redis, env.config.redis.prefix);
    // The worker after the rotation is finished: key 1 removed from MASTER_KEYS.
    const worker = await startWorker({
      config: env.config,
      log: env.log,
      store: env.store,
      queue: 'webhooks',
      concurrency: 1,
      handlers: {
        [JOB_NAMES.deliverWebhook]: createDeliverWebhookProcessor({
          store: env.store,
          keyring: { keys: new Map([[2, k2]]) },
          config: env.config,
          log: env.log,
        }),
      },
    });
    try {
      // Registered and rotated while the services had key 1 only: the previous secret still signs.
      const [current, previous] = [newWebhookSecret(), newWebhookSecret()];
      const id = uuidv7();
      const now = new Date();
      const hook: WebhookRecord = {
        id,
        organizationId: env.organizationId,
        url: receiver.url,
        events: ['connection.failed'],
        sealedSecrets: sealWebhookSecrets(
          { keys: env.config.secrets.keys },
          { organizationId: env.organizationId, id },
          { current, previous, previousUntil: new Date(now.getTime() + SECRET_OVERLAP_MS).toISOString() },
        ),
        enabled: true,
        failureStreak: 0,
        secretRotatedAt: now,
        createdAt: now,
        updatedAt: now,
      };
      await env.store.insertWebhook(hook);

      const run = await runReseal(commandEnv);
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout).webhooks).toEqual({ ...NOTHING, scanned: 1, resealed: 1 });
      for (const secret of [current, previous, hook.sealedSecrets]) {
        expect(run.stdout + run.stderr).not.toContain(secret);
      }
      const stored = await env.store.findWebhook(env.organizationId, id);
      expect(sealedKeyVersion(stored?.sealedSecrets ?? '')).toBe(2);
      expect(stored).toEqual({ ...hook, sealedSecrets: stored?.sealedSecrets });

      const connection = await insertConnection(env);
      expect(
        await emitWebhookEvent(
          { store: env.store, queue, policy: env.config.webhooks },
          env.organizationId,
          'connection.failed',
          { connection: toConnection(connection, undefined) },
        ),
      ).toBe(1);
      const deliveries = await eventually(
        async () => {
          const listed = await env.store.listDeliveries(env.organizationId, id, 10);
          return listed.length > 0 ? listed : undefined;
        },
        20_000,
        'a delivery attempt',
      );
      expect(deliveries.map((d) => [d.attempt, d.outcome, d.statusCode])).toEqual([[1, 'delivered', 200]]);
      expect(receiver.received).toHaveLength(1);
      const [request] = receiver.received;
      const headers = request?.headers as Record<string, string>;
      expect(new Webhook(current).verify(request?.body ?? '', headers)).toMatchObject({
        type: 'connection.failed',
      });
      expect(new Webhook(previous).verify(request?.body ?? '', headers)).toMatchObject({
        type: 'connection.failed',
      });
    } finally {
      await worker.close();
      await queue.obliterate({ force: true });
      await queue.close();
      await receiver.close();
    }
  });

  it('refuses a bad MASTER_KEYS naming the variable, with nothing on stdout', async () => {
    const run = await runReseal({ ...commandEnv, MASTER_KEYS: '2:too-short' });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/MASTER_KEYS: each entry must be/);
  });
});
