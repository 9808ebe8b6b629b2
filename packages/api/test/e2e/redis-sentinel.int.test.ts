/**
 * Redis behind Sentinel (REDIS_SENTINELS / REDIS_SENTINEL_NAME): a real master, replica and
 * sentinel from the Debian redis-server package, on private loopback ports. The master is killed
 * (SIGKILL: whatever it had not yet replicated is gone) while connections are being created through
 * the API; the sentinel promotes the replica, the API and the worker follow it, and every create
 * the API acknowledged still ends with the right verdict.
 */
import { createRedis, type StandaloneRedis } from '@dbconn/shared';
import { closedPort, type RedisFixture, startRedis } from '@dbconn/worker/test-fixtures';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Harness, http, startApi } from '../harness.js';
import { LOCAL_PG, PATH } from './helpers.js';
import { startWorkerProcess, type WorkerProcess } from './worker-process.js';

const MASTER_NAME = 'dbconn-test';

/** The address the sentinel gives for the master right now, as `host:port`. */
async function masterOf(sentinel: StandaloneRedis): Promise<string> {
  const [host, port] = (await sentinel.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER_NAME)) as string[];
  return `${host}:${port}`;
}

describe('Redis Sentinel', () => {
  let master: RedisFixture;
  let replica: RedisFixture;
  let sentinelServer: RedisFixture;
  let sentinel: StandaloneRedis;
  let h: Harness;
  let worker: WorkerProcess | undefined;

  beforeAll(async () => {
    master = await startRedis();
    replica = await startRedis({ args: ['--replicaof', '127.0.0.1', String(master.port)] });
    sentinelServer = await startRedis({
      sentinelConfig: [
        `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${master.port} 1`,
        // Short, so the fail-over happens within the test: down after 1 s, promote at once.
        `sentinel down-after-milliseconds ${MASTER_NAME} 1000`,
        `sentinel failover-timeout ${MASTER_NAME} 10000`,
      ].join('\n'),
    });
    sentinel = createRedis(sentinelServer.url);
    const replicaClient = createRedis(replica.url);
    // The sentinel must know the replica (it learns it from the master's INFO) and the replica be in
    // sync before the master dies, or there is nothing to fail over to.
    await vi.waitFor(
      async () => {
        const replicas = (await sentinel.call('SENTINEL', 'REPLICAS', MASTER_NAME)) as string[][];
        const flags = replicas.map((fields) => fields[fields.indexOf('flags') + 1]);
        expect(flags).toEqual(['slave']);
        expect(await replicaClient.info('replication')).toContain('master_link_status:up');
      },
      { timeout: 30_000, interval: 200 },
    );
    replicaClient.disconnect();
    h = await startApi({
      REDIS_SENTINELS: `127.0.0.1:${sentinelServer.port}`,
      REDIS_SENTINEL_NAME: MASTER_NAME,
      // A job lost with the master's unreplicated writes is re-enqueued by the sweeper.
      SWEEP_INTERVAL_MS: '1000',
      SWEEP_STALE_AFTER_MS: '3000',
      LOG_LEVEL: 'info',
    });
    worker = await startWorkerProcess(h.env);
  });

  afterAll(async () => {
    await worker?.stop();
    await h?.close();
    sentinel?.disconnect();
    for (const server of [sentinelServer, replica, master]) await server?.stop();
  });

  it('every create acknowledged while the master fails over ends with its verdict', {
    timeout: 120_000,
  }, async () => {
    const closed = await closedPort();
    const acknowledged = new Map<string, 'active' | 'failed'>();
    const refusedStatuses: number[] = [];
    let serial = 0;
    const createOne = async () => {
      serial += 1;
      const reachable = serial % 3 !== 0;
      const res = await http(h, 'POST', PATH, {
        headers: { 'x-product-name': 'sentinel' },
        body: {
          ...LOCAL_PG,
          ...(reachable ? {} : { port: closed }),
          configName: `sentinel-${serial}`,
        },
      });
      if (res.status === 201) acknowledged.set(res.body.id as string, reachable ? 'active' : 'failed');
      else refusedStatuses.push(res.status);
    };
    const createMany = async (count: number) => {
      for (let i = 0; i < count; i++) await Promise.all([createOne(), createOne()]);
    };

    await createMany(5);
    const before = acknowledged.size;
    const oldMaster = await masterOf(sentinel);
    // Kill the master mid-burst: creates keep coming while the sentinel notices and promotes.
    const burst = createMany(30);
    await master.kill();
    await burst;
    await vi.waitFor(async () => expect(await masterOf(sentinel)).toBe(`127.0.0.1:${replica.port}`), {
      timeout: 30_000,
      interval: 200,
    });
    expect(oldMaster).toBe(`127.0.0.1:${master.port}`);
    // After the fail-over the API acknowledges creates again, on the promoted replica.
    const beforeAfterwards = acknowledged.size;
    await vi.waitFor(
      async () => {
        await createOne();
        expect(acknowledged.size).toBeGreaterThan(beforeAfterwards + 3);
      },
      { timeout: 30_000, interval: 200 },
    );
    expect(before).toBe(10);

    const verdicts = async () => {
      const outcome: Record<string, string> = {};
      for (const id of acknowledged.keys()) {
        const res = await http(h, 'GET', `${PATH}/${id}`);
        outcome[id] = res.status === 200 ? (res.body.status as string) : `HTTP ${res.status}`;
      }
      return outcome;
    };
    // None lost: each one acknowledged reaches the verdict its settings call for.
    await expect.poll(verdicts, { timeout: 60_000, interval: 500 }).toEqual(Object.fromEntries(acknowledged));
    // A create the API could not take while Redis had no master was answered 503, never 201.
    expect(refusedStatuses.every((status) => status === 503)).toBe(true);
  });
});
