// One API process whose PostgreSQL store answers 500 ms late (a loopback proxy delays every answer),
// 40 concurrent clients, for each STORE_POOL_SIZE: requests per second and latency percentiles.
// The mix is read-heavy: per five requests, three GET by id, one list (two store calls at once),
// one create (two calls one after the other). Bounded in time; cleans up its schema and Redis keys.
//
//   pnpm --filter @dbconn/api exec tsx --conditions=@dbconn/source ../../bench/store-latency.ts [seconds] [concurrency] [latencyMs]
import { performance } from 'node:perf_hooks';
import { seedBody, startApi } from '../packages/api/test/harness.js';
import { STORE_DATABASE_URL, startTcpProxy } from '../packages/worker/test/fixtures/index.js';

const seconds = Number(process.argv[2] ?? 10);
const concurrency = Number(process.argv[3] ?? 40);
const latencyMs = Number(process.argv[4] ?? 500);
const POOL_SIZES = [5, 10, 20, 40];

const target = new URL(STORE_DATABASE_URL);
const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) });

console.log(
  `store latency ${latencyMs} ms per answer, ${concurrency} concurrent clients, ${seconds} s per pool size`,
);
console.log('pool  requests    rps   p50 ms   p95 ms   p99 ms   max ms   non-2xx');
for (const poolSize of POOL_SIZES) {
  const storeUrl = new URL(STORE_DATABASE_URL);
  storeUrl.port = String(proxy.port);
  proxy.setLatency(0);
  const h = await startApi({
    LOG_LEVEL: 'warn',
    STORE_POOL_SIZE: String(poolSize),
    STORE_URL: `${storeUrl.toString()}?schema=bench_latency_${poolSize}_${process.pid}`,
    // Creates are part of the mix: the dial limit would stop them after the first window.
    RATE_LIMIT_DIALS_PER_ORGANIZATION: '1000000',
  });
  const base = `${h.url}/v1/management/connections`;
  const headers = { 'content-type': 'application/json', 'x-product-name': 'bench' };
  const body = seedBody();
  const first = await fetch(base, {
    method: 'POST',
    headers,
    body: JSON.stringify({ ...body, configName: 'bench-first' }),
  });
  const { id } = (await first.json()) as { id: string };
  proxy.setLatency(latencyMs);

  let n = 0;
  const request = (i: number) => {
    switch (i % 5) {
      case 3:
        return fetch(`${base}?limit=20`, { headers });
      case 4:
        return fetch(base, {
          method: 'POST',
          headers,
          body: JSON.stringify({ ...body, configName: `bench-${poolSize}-${i}` }),
        });
      default:
        return fetch(`${base}/${id}`, { headers });
    }
  };

  // Warm the pool (every client connected) before measuring: a connect costs a round trip too.
  await Promise.all(Array.from({ length: poolSize }, () => fetch(`${base}/${id}`, { headers })));

  const latencies: number[] = [];
  let failures = 0;
  const until = performance.now() + seconds * 1000;
  const client = async () => {
    while (performance.now() < until) {
      const started = performance.now();
      const res = await request(n++);
      await res.arrayBuffer();
      latencies.push(performance.now() - started);
      if (res.status >= 300) failures++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, client));
  const elapsed = (performance.now() - started) / 1000;

  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    (latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0).toFixed(0);
  console.log(
    [
      String(poolSize).padStart(4),
      String(latencies.length).padStart(9),
      (latencies.length / elapsed).toFixed(1).padStart(6),
      pct(50).padStart(8),
      pct(95).padStart(8),
      pct(99).padStart(8),
      (latencies.at(-1) ?? 0).toFixed(0).padStart(8),
      String(failures).padStart(9),
    ].join(' '),
  );
  proxy.setLatency(0);
  await h.close();
}
await proxy.stop();
