// The bare floor of a verification: a minimal driver connect + version + schema check, in a loop at
// a given concurrency, optionally paced to a rate. Driven over IPC by bench/src/main.ts:
//   { concurrency, rate?, durationMs?, count? } → { completed, failed, seconds, latencies }
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

const { TARGET_URL, TARGET_SCHEMA } = process.env;

async function check() {
  const client = new pg.Client({ connectionString: TARGET_URL, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.query('SELECT version()');
    const { rows } = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [TARGET_SCHEMA]);
    if (rows.length !== 1) throw new Error('schema missing');
  } finally {
    await client.end().catch(() => {});
  }
}

async function run({ concurrency, rate = 0, durationMs = 0, count = 0 }) {
  const started = performance.now();
  const end = durationMs > 0 ? started + durationMs : Number.POSITIVE_INFINITY;
  const latencies = [];
  let next = 0;
  let failed = 0;
  const loop = async () => {
    for (;;) {
      const i = next++;
      if (count > 0 && i >= count) return;
      if (rate > 0) {
        const due = started + (i * 1000) / rate;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
      }
      if (performance.now() >= end) return;
      const t = performance.now();
      try {
        await check();
        latencies.push(performance.now() - t);
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  return { completed: latencies.length, failed, seconds: (performance.now() - started) / 1000, latencies };
}

process.on('message', (msg) => {
  void run(msg).then((result) => process.send(result));
});
process.on('SIGTERM', () => process.exit(0));
process.send({ ready: true });
