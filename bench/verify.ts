// Latency of one verification (dns, tcp, auth, database, schema) against the local PostgreSQL and
// MariaDB, as the worker runs it. Sequential, bounded in count.
//
//   pnpm --filter @dbconn/worker exec tsx --conditions=@dbconn/source ../../bench/verify.ts [runs]
import { performance } from 'node:perf_hooks';
import type { DialSettings } from '../packages/worker/src/engines/types.js';
import { verifyConnection } from '../packages/worker/src/verify/verify-connection.js';

const runs = Number(process.argv[2] ?? 200);
const options = {
  timeoutMs: 10_000,
  stageTimeoutMs: 5_000,
  egress: { mode: 'default' as const, allow: [], deny: [] },
};
const targets: [string, DialSettings][] = [
  [
    'PostgreSQL 127.0.0.1:5432',
    {
      type: 'POSTGRESQL',
      host: '127.0.0.1',
      port: 5432,
      databaseName: 'test',
      userName: 'postgres',
      password: 'x',
      metadata: {},
    },
  ],
  [
    'MariaDB 127.0.0.1:3306',
    {
      type: 'MYSQL',
      host: '127.0.0.1',
      port: 3306,
      databaseName: 'test',
      userName: 'root',
      password: '',
      metadata: {},
    },
  ],
  [
    'closed port (TCP_REFUSED)',
    {
      type: 'POSTGRESQL',
      host: '127.0.0.1',
      port: 1,
      databaseName: 'test',
      userName: 'postgres',
      password: 'x',
      metadata: {},
    },
  ],
];

for (const [name, settings] of targets) {
  await verifyConnection(settings, options); // warm up: load the driver
  const times: number[] = [];
  const outcomes = new Map<string, number>();
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const result = await verifyConnection(settings, options);
    times.push(performance.now() - started);
    const key = result.error?.code ?? result.outcome;
    outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
  }
  times.sort((a, b) => a - b);
  const pct = (p: number) =>
    times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))]?.toFixed(2);
  console.log(
    `${name}: ${runs} runs  p50 ${pct(50)} ms  p95 ${pct(95)} ms  max ${times.at(-1)?.toFixed(2)} ms  outcomes ${JSON.stringify(Object.fromEntries(outcomes))}`,
  );
}
