import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ConnectionEvent,
  connectionEventsChannel,
  createConnectionEventPublisher,
} from '../src/index.js';

const REDIS_URL = 'redis://127.0.0.1:6379';

describe('connection event publisher (real Redis)', () => {
  const prefix = `dbconn_ev_${randomBytes(4).toString('hex')}`;
  let redis: Redis;
  let subscriber: Redis;
  /** Every message heard, in arrival order. */
  const heard: ConnectionEvent[] = [];
  /** How many pipelines the publisher wrote (one write to Redis each). */
  let pipelines = 0;

  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    subscriber = new Redis(REDIS_URL);
    subscriber.on('pmessage', (_p, _c, message: string) => heard.push(JSON.parse(message)));
    await subscriber.psubscribe(`${prefix}:events:connection:*`);
  });
  afterAll(async () => {
    subscriber.disconnect();
    redis.disconnect();
  });

  /** The real client, with its pipelines counted. */
  const counted = () => ({
    pipeline: () => {
      pipelines++;
      return redis.pipeline();
    },
  });
  const stage = (id: string, name: 'dns' | 'tcp' | 'auth'): ConnectionEvent => ({
    id,
    status: 'verifying',
    dialVersion: 1,
    stage: { name, status: 'ok', durationMs: 1 },
  });
  const until = async (predicate: () => boolean) => {
    while (!predicate()) await new Promise((r) => setTimeout(r, 5));
  };

  it('holds progress events and writes them with the verdict, in order, in one pipeline', async () => {
    const id = randomUUID();
    // A hold far longer than the test: only the verdict can make them go.
    const events = createConnectionEventPublisher(counted(), prefix, { holdMs: 60_000 });
    pipelines = 0;
    const progress = [
      events.publish({ id, status: 'verifying', dialVersion: 1 }),
      events.publish(stage(id, 'dns')),
      events.publish(stage(id, 'tcp')),
    ];
    await new Promise((r) => setTimeout(r, 50));
    expect(heard.filter((e) => e.id === id)).toEqual([]);

    const verdict = events.publish({ id, status: 'active', dialVersion: 1 });
    await expect(verdict).resolves.toBe(1);
    await expect(Promise.all(progress)).resolves.toEqual([1, 1, 1]);
    await until(() => heard.filter((e) => e.id === id).length === 4);
    expect(heard.filter((e) => e.id === id).map((e) => e.stage?.name ?? e.status)).toEqual([
      'verifying',
      'dns',
      'tcp',
      'active',
    ]);
    expect(pipelines).toBe(1);
  });

  it('writes held progress after the hold, with what arrived meanwhile for other connections', async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    const events = createConnectionEventPublisher(counted(), prefix, { holdMs: 30 });
    pipelines = 0;
    await Promise.all([events.publish(stage(a, 'dns')), events.publish(stage(b, 'dns'))]);
    await until(() => heard.filter((e) => e.id === a || e.id === b).length === 2);
    expect(pipelines).toBe(1);
  });

  it('writes a deletion at once, and flush writes what is held', async () => {
    const id = randomUUID();
    const events = createConnectionEventPublisher(counted(), prefix, { holdMs: 60_000 });
    await expect(events.publish({ id, status: 'pending', dialVersion: 2, deleted: true })).resolves.toBe(1);
    const held = events.publish(stage(id, 'auth'));
    await events.flush();
    await expect(held).resolves.toBe(1);
    await until(() => heard.filter((e) => e.id === id).length === 2);
  });

  it('rejects every event of a write Redis did not take', async () => {
    const closed = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0 });
    closed.disconnect();
    const events = createConnectionEventPublisher(closed, prefix, { holdMs: 60_000 });
    const id = randomUUID();
    const held = events.publish(stage(id, 'dns'));
    const verdict = events.publish({ id, status: 'failed', dialVersion: 1 });
    await expect(verdict).rejects.toThrow();
    await expect(held).rejects.toThrow();
  });

  it('uses the channel watchers subscribe to', async () => {
    const id = randomUUID();
    const direct = new Redis(REDIS_URL);
    try {
      await direct.subscribe(connectionEventsChannel(prefix, id));
      const message = once(direct, 'message');
      await createConnectionEventPublisher(redis, prefix).publish({ id, status: 'failed', dialVersion: 1 });
      const [channel, body] = await message;
      expect(channel).toBe(connectionEventsChannel(prefix, id));
      expect(JSON.parse(body)).toEqual({ id, status: 'failed', dialVersion: 1 });
    } finally {
      direct.disconnect();
    }
  });
});
