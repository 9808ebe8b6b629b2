/**
 * Webhook deliveries (docs/contract.md §11) through the real webhooks queue (real Redis), a real
 * worker and a real HTTP receiver on loopback; every delivery's signature is checked with the
 * standardwebhooks library, as a receiver would.
 */
import {
  createWebhookQueue,
  type DeliverWebhookJob,
  emitWebhookEvent,
  enqueueVerification,
  JOB_NAMES,
  newWebhookSecret,
  type Queue,
  SECRET_OVERLAP_MS,
  sealWebhookSecrets,
  uuidv7,
  type Verification,
  type WebhookRecord,
  type WebhookSecrets,
} from '@dbconn/shared';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createDeliverWebhookProcessor } from '../src/processors/deliver-webhook.processor.js';
import { createVerifyConnectionProcessor } from '../src/processors/index.js';
import { type RunningWorker, startWorker } from '../src/worker.js';
import { type Env, eventually, insertConnection, jobFor, openEnv } from './e2e-fixtures.js';
import { type ReceivedWebhook, startWebhookReceiver, type WebhookReceiver } from './fixtures/index.js';

const verification = (outcome: 'passed' | 'failed'): Verification => ({
  outcome,
  checkedAt: new Date().toISOString(),
  latencyMs: 3,
  attempts: 1,
  stages: [],
});

describe('webhook deliveries (real Redis, real receiver on loopback)', () => {
  let env: Env;
  let queue: Queue<DeliverWebhookJob>;
  let worker: RunningWorker;
  let receiver: WebhookReceiver;
  const keyring = () => ({ keys: env.config.secrets.keys });

  beforeAll(async () => {
    env = await openEnv({
      WEBHOOK_RETRY_BASE_MS: '50',
      WEBHOOK_RETRY_WINDOW_MS: '5000',
      WEBHOOK_TIMEOUT_MS: '2000',
      // 127.0.0.3 is loopback too, but this deployment's policy refuses it.
      EGRESS_DENY: '127.0.0.3/32',
      VERIFY_STAGE_TIMEOUT_MS: '1500',
      VERIFY_TIMEOUT_MS: '5000',
    });
    queue = createWebhookQueue(env.redis, env.config.redis.prefix);
    worker = await startWorker({
      config: env.config,
      log: env.log,
      store: env.store,
      queue: 'webhooks',
      concurrency: 2,
      handlers: {
        [JOB_NAMES.deliverWebhook]: createDeliverWebhookProcessor({
          store: env.store,
          keyring: keyring(),
          config: env.config,
          log: env.log,
        }),
      },
    });
  });
  afterAll(async () => {
    await worker?.close();
    await queue?.obliterate({ force: true });
    await queue?.close();
    await env?.close();
  });
  beforeEach(async () => {
    // Each test hears only its own endpoints.
    for (const hook of await env.store.listWebhooks(env.organizationId)) {
      await env.store.deleteWebhook(env.organizationId, hook.id);
    }
    await receiver?.close();
    receiver = await startWebhookReceiver();
  });

  async function register(url: string, secrets: WebhookSecrets, overrides: Partial<WebhookRecord> = {}) {
    const id = uuidv7();
    const now = new Date();
    const record: WebhookRecord = {
      id,
      organizationId: env.organizationId,
      url,
      events: ['connection.active', 'connection.failed'],
      sealedSecrets: sealWebhookSecrets(keyring(), { organizationId: env.organizationId, id }, secrets),
      enabled: true,
      failureStreak: 0,
      createdAt: now,
      updatedAt: now,
      ...overrides,
    };
    await env.store.insertWebhook(record);
    return record;
  }

  const emit = async (event: 'connection.active' | 'connection.failed' = 'connection.failed') => {
    const record = await insertConnection(env);
    const { toConnection } = await import('@dbconn/shared');
    return emitWebhookEvent(
      { store: env.store, queue, policy: env.config.webhooks },
      env.organizationId,
      event,
      {
        connection: toConnection(record, undefined),
        verification: verification(event === 'connection.active' ? 'passed' : 'failed'),
      },
    );
  };

  const verifies = (secret: string, request: ReceivedWebhook) => {
    try {
      new Webhook(secret).verify(request.body, request.headers as Record<string, string>);
      return true;
    } catch {
      return false;
    }
  };

  it('builds the data of an event only when an endpoint wants it (no store reads for an organization without one)', async () => {
    const deps = { store: env.store, queue, policy: env.config.webhooks };
    let built = 0;
    const lazy = {
      productName: undefined,
      build: async () => {
        built++;
        return null;
      },
    };
    expect(await emitWebhookEvent(deps, env.organizationId, 'connection.active', lazy)).toBe(0);
    expect(built).toBe(0);
    await register('http://127.0.0.1:9/unused', { current: newWebhookSecret() });
    // Wanted, but the connection is gone (build answers null): built once, nothing enqueued.
    expect(await emitWebhookEvent(deps, env.organizationId, 'connection.active', lazy)).toBe(0);
    expect(built).toBe(1);
  });

  it('a receiver answering 500 three times then 200 gets the same event four times, each signed, then it is delivered', async () => {
    const secret = newWebhookSecret();
    const hook = await register(receiver.url, { current: secret });
    receiver.script.push(500, 500, 500);
    expect(await emit()).toBe(1);

    const deliveries = await eventually(async () => {
      const listed = await env.store.listDeliveries(env.organizationId, hook.id, 10);
      return listed.some((d) => d.outcome === 'delivered') ? listed : undefined;
    });
    expect(receiver.received).toHaveLength(4);
    expect(receiver.received.every((request) => verifies(secret, request))).toBe(true);
    expect(verifies(newWebhookSecret(), receiver.received[0] as ReceivedWebhook)).toBe(false);
    // One message: the same webhook-id on every attempt, so the receiver can de-duplicate.
    expect(new Set(receiver.received.map((r) => r.headers['webhook-id'])).size).toBe(1);
    const body = JSON.parse(receiver.received[3]?.body ?? '{}');
    expect(body).toMatchObject({ type: 'connection.failed', data: { verification: { outcome: 'failed' } } });
    expect(body.data.connection).not.toHaveProperty('password');
    expect(JSON.stringify(body)).not.toContain('sealed');

    expect(deliveries.map((d) => [d.attempt, d.outcome, d.statusCode])).toEqual([
      [4, 'delivered', 200],
      [3, 'failed', 500],
      [2, 'failed', 500],
      [1, 'failed', 500],
    ]);
    expect(await env.store.findWebhook(env.organizationId, hook.id)).toMatchObject({
      enabled: true,
      failureStreak: 0,
    });
  });

  it('a receiver on an address the egress policy refuses is never dialled; the attempt says why, once', async () => {
    const refused = await startWebhookReceiver('127.0.0.3');
    try {
      const hook = await register(refused.url, { current: newWebhookSecret() });
      expect(await emit()).toBe(1);
      const [attempt] = await eventually(async () => {
        const listed = await env.store.listDeliveries(env.organizationId, hook.id, 10);
        return listed.length > 0 ? listed : undefined;
      });
      expect(attempt).toMatchObject({ outcome: 'failed', error: 'the address is not allowed', attempt: 1 });
      expect(attempt?.statusCode).toBeUndefined();
      // The attempt is recorded before the job fails for good: wait for that, and see it was the only one.
      const job = await eventually(async () =>
        (await queue.getJobs(['failed'])).find((j) => j.data.webhookId === hook.id),
      );
      expect(job.attemptsMade).toBe(1);
      expect(refused.received).toEqual([]);
    } finally {
      await refused.close();
    }
  });

  it('after a rotation both secrets sign for the overlap; after it only the new one', async () => {
    const [oldSecret, newSecret] = [newWebhookSecret(), newWebhookSecret()];
    const until = new Date(Date.now() + SECRET_OVERLAP_MS).toISOString();
    await register(receiver.url, { current: newSecret, previous: oldSecret, previousUntil: until });
    await emit('connection.active');
    await eventually(async () => (receiver.received.length > 0 ? true : undefined));
    const [during] = receiver.received as [ReceivedWebhook];
    expect(String(during.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verifies(newSecret, during)).toBe(true);
    expect(verifies(oldSecret, during)).toBe(true);

    const [later, expiredOld] = [newWebhookSecret(), newWebhookSecret()];
    const over = await startWebhookReceiver();
    try {
      await register(over.url, {
        current: later,
        previous: expiredOld,
        previousUntil: new Date(Date.now() - 1000).toISOString(),
      });
      await emit('connection.active');
      await eventually(async () => (over.received.length > 0 ? true : undefined));
      const [after] = over.received as [ReceivedWebhook];
      expect(verifies(later, after)).toBe(true);
      expect(verifies(expiredOld, after)).toBe(false);
    } finally {
      await over.close();
    }
  });

  it('turns an endpoint off after the failure streak, and says so', async () => {
    const streakEnv = { ...env.config, webhooks: { ...env.config.webhooks, disableAfterFailures: 2 } };
    const hook = await register(receiver.url, { current: newWebhookSecret() });
    receiver.script.push(503, 503, 503, 503, 503, 503, 503, 503);
    const deliver = createDeliverWebhookProcessor({
      store: env.store,
      keyring: keyring(),
      config: streakEnv,
      log: env.log,
    });
    const messageId = `msg_${uuidv7()}`;
    const job = {
      id: 'manual',
      attemptsMade: 0,
      opts: { attempts: 1 },
      data: {
        organizationId: env.organizationId,
        webhookId: hook.id,
        messageId,
        event: 'connection.failed',
        payload: {
          type: 'connection.failed',
          timestamp: new Date().toISOString(),
          data: {
            connection: (await import('@dbconn/shared')).toConnection(await insertConnection(env), undefined),
          },
        },
      },
    } as never;
    expect(await deliver(job)).toMatchObject({ status: 'failed' });
    expect(await deliver(job)).toMatchObject({ status: 'failed' });
    expect(await env.store.findWebhook(env.organizationId, hook.id)).toMatchObject({
      enabled: false,
      failureStreak: 2,
      disabledReason: expect.stringContaining('disabled after 2 failed delivery attempts'),
    });
    // Turned off: the next delivery does not dial.
    const before = receiver.received.length;
    expect(await deliver(job)).toMatchObject({ status: 'skipped' });
    expect(receiver.received).toHaveLength(before);
  });

  it('a periodic pass that confirms the status sends nothing; a change of status sends one event', async () => {
    const hook = await register(receiver.url, { current: newWebhookSecret() });
    const process = createVerifyConnectionProcessor({
      store: env.store,
      keyring: keyring(),
      config: env.config,
      log: env.log,
      emitWebhook: (organizationId, event, data) =>
        emitWebhookEvent(
          { store: env.store, queue, policy: env.config.webhooks },
          organizationId,
          event,
          data,
        ),
    });
    // Active, and its last verification passed: the local PostgreSQL confirms it.
    const confirmed = await insertConnection(env, {
      status: 'active',
      verification: verification('passed'),
      lastVerifiedAt: new Date(Date.now() - 60_000),
    });
    const periodic = await enqueueVerification(env.queue, jobFor(confirmed, 'periodic'), env.config.verify);
    expect(await process(periodic)).toMatchObject({ status: 'active' });
    // Failed before, passes now: failed → active is a change.
    const recovered = await insertConnection(env, {
      status: 'failed',
      verification: verification('failed'),
      lastVerifiedAt: new Date(Date.now() - 60_000),
    });
    const again = await enqueueVerification(env.queue, jobFor(recovered, 'periodic'), env.config.verify);
    expect(await process(again)).toMatchObject({ status: 'active' });

    const [delivered] = await eventually(async () => {
      const listed = await env.store.listDeliveries(env.organizationId, hook.id, 10);
      return listed.length > 0 ? listed : undefined;
    });
    expect(delivered).toMatchObject({ event: 'connection.active', outcome: 'delivered' });
    await eventually(async () =>
      (await queue.getJobCounts('waiting', 'active', 'delayed')).waiting === 0 ? true : undefined,
    );
    expect(receiver.received.map((r) => JSON.parse(r.body).data.connection.id)).toEqual([recovered.id]);
  });

  it('a change of status in an organization without an enabled endpoint looks no endpoint up', async () => {
    const asked: string[] = [];
    const process = createVerifyConnectionProcessor({
      store: env.store,
      keyring: keyring(),
      config: env.config,
      log: env.log,
      emitWebhook: (organizationId, event, data) => {
        asked.push(event);
        return emitWebhookEvent(
          { store: env.store, queue, policy: env.config.webhooks },
          organizationId,
          event,
          data,
        );
      },
    });
    const changes = async () => {
      const record = await insertConnection(env, {
        status: 'failed',
        verification: verification('failed'),
        lastVerifiedAt: new Date(Date.now() - 60_000),
      });
      const job = await enqueueVerification(env.queue, jobFor(record, 'periodic'), env.config.verify);
      expect(await process(job)).toMatchObject({ status: 'active' });
    };
    // None at all, then one that is turned off: the result's statement already said so.
    await changes();
    const hook = await register(receiver.url, { current: newWebhookSecret() }, { enabled: false });
    await changes();
    expect(asked).toEqual([]);
    // Turned on, the next change is offered to it.
    await env.store.updateWebhook(env.organizationId, hook.id, { enabled: true });
    await changes();
    expect(asked).toEqual(['connection.active']);
  });
});
