// Create throughput of the API: POSTs of the seed body at a fixed concurrency against a real
// server (PostgreSQL store, Redis queue) on this machine. Bounded in count; cleans up after itself.
//
//   pnpm --filter @dbconn/api exec tsx --conditions=@dbconn/source ../../bench/create.ts [total] [concurrency]
import { performance } from 'node:perf_hooks';
import { seedBody, startApi } from '../packages/api/test/harness.js';

const total = Number(process.argv[2] ?? 4000);
const concurrency = Number(process.argv[3] ?? 64);

// The dial limit would stop a create benchmark after its first window: measured is the API itself.
const h = await startApi({ LOG_LEVEL: 'warn', RATE_LIMIT_DIALS_PER_ORGANIZATION: '1000000' });
const url = `${h.url}/v1/management/connections`;
const body = seedBody();
const latencies: number[] = [];
let next = 0;
let failures = 0;

async function client() {
  for (;;) {
    const i = next++;
    if (i >= total) return;
    const started = performance.now();
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-product-name': 'bench' },
      body: JSON.stringify({ ...body, configName: `bench-${i}` }),
    });
    await res.arrayBuffer();
    latencies.push(performance.now() - started);
    if (res.status !== 201) failures++;
  }
}

// Warm up (JIT, pools), then measure.
await Promise.all(
  Array.from({ length: 8 }, async (_, i) => {
    await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-product-name': 'warm' },
      body: JSON.stringify({ ...body, configName: `warm-${i}` }),
    });
  }),
);
const started = performance.now();
await Promise.all(Array.from({ length: concurrency }, client));
const seconds = (performance.now() - started) / 1000;

latencies.sort((a, b) => a - b);
const pct = (p: number) =>
  latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]?.toFixed(1);
console.log(`creates: ${total} at concurrency ${concurrency} in ${seconds.toFixed(2)} s`);
console.log(`throughput: ${(total / seconds).toFixed(0)} creates/s   failures: ${failures}`);
console.log(
  `latency ms: p50 ${pct(50)}  p95 ${pct(95)}  p99 ${pct(99)}  max ${latencies.at(-1)?.toFixed(1)}`,
);
await h.close();
