/**
 * A Redis client behind Sentinel is never left for dead by its own fail-over detector. On
 * +switch-master, ioredis's detector disconnects the client's connector; if the client is at that
 * moment connecting again (its master just died, it is asking a sentinel where the master is now),
 * stock ioredis 5.9 fails that connect with "Connection is closed." and ends the client for good:
 * every later command fails, and a worker verifies nothing more (seen in the Sentinel e2e test,
 * 1 run in 3 under load). patches/ioredis@5.9.2.patch connects again instead
 * (docs/decisions/0001-ioredis-sentinel-reconnect.md).
 *
 * The test makes the race certain instead of likely: it calls the client's own fail-over detector
 * (the very object and method a +switch-master message calls) while the client is connecting.
 */
import { createRedis, type Redis, type StandaloneRedis } from '@dbconn/shared';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type RedisFixture, startRedis } from './fixtures/redis.js';

const MASTER_NAME = 'dbconn-reconnect';

/** The parts of ioredis's Sentinel connector the race runs through (not in its typings). */
interface SentinelInternals {
  connector: { failoverDetector: { disconnect(): void } | null };
}

describe('a Redis client behind Sentinel', () => {
  let master: RedisFixture;
  let sentinelServer: RedisFixture;
  let admin: StandaloneRedis;
  let client: Redis;

  beforeAll(async () => {
    master = await startRedis();
    sentinelServer = await startRedis({
      sentinelConfig: `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${master.port} 1`,
    });
    admin = createRedis(master.url);
  });

  afterAll(async () => {
    client?.disconnect();
    admin?.disconnect();
    for (const server of [sentinelServer, master]) await server?.stop();
  });

  it('connects again when its fail-over detector fires while it is connecting', {
    timeout: 30_000,
  }, async () => {
    client = createRedis(
      {
        url: 'redis://127.0.0.1',
        topology: {
          kind: 'sentinel',
          sentinels: [{ host: '127.0.0.1', port: sentinelServer.port }],
          name: MASTER_NAME,
        },
        prefix: 'dbconn-reconnect:',
      },
      { blocking: false },
    );
    const { connector } = client as unknown as SentinelInternals;
    await vi.waitFor(
      () => expect(client.status === 'ready' && connector.failoverDetector !== null).toBe(true),
      {
        timeout: 10_000,
        interval: 50,
      },
    );
    const errors: string[] = [];
    client.on('error', (err: Error) => errors.push(err.message));
    // Status events are emitted on the next tick, once the connector has started asking the
    // sentinel: the detector fires in the middle of that connect, as a +switch-master would.
    client.once('connecting', () => connector.failoverDetector?.disconnect());

    // The master drops the client's connection: it reconnects through the sentinel.
    const id = await (client as StandaloneRedis).client('ID');
    await admin.client('KILL', 'ID', String(id));

    await vi.waitFor(() => expect(errors).toContain('Connection is closed.'), {
      timeout: 10_000,
      interval: 20,
    });
    await vi.waitFor(
      async () => {
        expect(client.status).toBe('ready');
        expect(await client.ping()).toBe('PONG');
      },
      { timeout: 10_000, interval: 100 },
    );
  });
});
