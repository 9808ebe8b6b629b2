// pnpm bench: each measure of issue 13 side by side with a bare floor the bench itself contains,
// service and baseline alternating in the same run, each warmed up before it is measured.
// Knobs: BENCH_QUICK=1 (a smoke run), BENCH_ROUNDS (3), BENCH_P4_BATCH (10000), BENCH_P5_ROWS
// (100000), BENCH_PHASES (e.g. P1,P3), BENCH_CPU_PROF=api|worker (node --cpu-prof on that side).
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { storeSessionOptions } from '../../packages/shared/src/store/postgres/session-options.js';
import {
  BARE_STORE_APP,
  BareVerifier,
  commCpuMs,
  cpuMs,
  machineBusyMs,
  newWorld,
  ROOT,
  rssMiB,
  SERVICE_STORE_APP,
  serviceEnv,
  startBareApi,
  startServiceApi,
  startServiceWorker,
  stop,
} from './procs.js';
import { CURVE, curveOf, type Measure, rowsOf, type Sample, svgChart, table } from './report.js';

const env = process.env;
const QUICK = env.BENCH_QUICK === '1';
const ROUNDS = Number(env.BENCH_ROUNDS ?? 3);
const WARM_S = QUICK ? 1 : 3;
const MEASURE_S = QUICK ? 3 : 10;
const CLIENTS = 64;
const P1B_BACKLOG = 5_000;
const P2_RUNS = QUICK ? 20 : 100;
const P3_CONCURRENCY = 32;
const P4_BATCH = Number(env.BENCH_P4_BATCH ?? (QUICK ? 1_000 : 10_000));
const P5_ROWS = Number(env.BENCH_P5_ROWS ?? 100_000);
const P5_RUNS = QUICK ? 50 : 200;
const PHASES = new Set((env.BENCH_PHASES ?? 'P1,P1b,P2,P3,P4,P5').split(','));
/** The production default of WORKER_CONCURRENCY: the worker as deployed, draining a backlog. */
const WORKER_DEFAULT_CONCURRENCY = 8;

const world = newWorld();
const CREATE_PATH = '/v1/management/connections';
const BODY = {
  type: 'POSTGRESQL',
  host: '127.0.0.1',
  port: 5432,
  databaseName: 'test',
  userName: 'postgres',
  password: 'bench-password-not-a-secret',
  schema: world.targetSchema,
  ssl: { mode: 'disable' },
  metadata: { environment: 'bench', team: 'data-engineering' },
};
let created = 0;
const nextBody = (tag: string) => JSON.stringify({ ...BODY, configName: `${tag}-${created++}` });

/** Adds one round of latencies (ms) to `m` as p50/p99 per side, keeps its curves, and says both. */
function latencyRound(m: Measure, service: number[], bare: number[], first: 'service' | 'bare') {
  const curves = { service: curveOf(service), bare: curveOf(bare) };
  const at = (c: number[], p: number) => c[CURVE.indexOf(p)] ?? Number.NaN;
  const sample = (c: number[]) => ({ p50: at(c, 50), p99: at(c, 99) });
  m.rounds.push({ service: sample(curves.service), bare: sample(curves.bare), first });
  m.curves = curves;
  const say = (c: number[]) => `p50 ${at(c, 50).toFixed(1)} p99 ${at(c, 99).toFixed(1)} ms`;
  return { service: say(curves.service), bare: say(curves.bare) };
}

/**
 * What this machine charges for the two things every measure repeats, printed before the table:
 * figures from runs on different machines (or one machine on different days) compare only through
 * these. A PostgreSQL session (connect, `SELECT 1`, end: a fork, its startup and its exit) is the
 * floor of every verification; a fixed loop of JavaScript stands for the processes' own work.
 */
async function calibrate(url: string) {
  const sessions: number[] = [];
  const busyBefore = machineBusyMs();
  for (let i = 0; i < 100; i++) {
    const t0 = performance.now();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query('SELECT 1');
    await client.end();
    sessions.push(performance.now() - t0);
  }
  const sessionCpuMs = (machineBusyMs() - busyBefore) / sessions.length;
  const t0 = performance.now();
  let x = 0;
  for (let i = 0; i < 2e7; i++) x = (x * 31 + i) % 1_000_003;
  const loopMs = performance.now() - t0 + (x < 0 ? 1 : 0);
  const sorted = [...sessions].sort((a, b) => a - b);
  const sessionP50Ms = sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
  log(
    `machine: a PostgreSQL session (connect, SELECT 1, end) ${sessionP50Ms.toFixed(1)} ms p50 and ${sessionCpuMs.toFixed(1)} ms of machine CPU; a fixed JavaScript loop ${loopMs.toFixed(0)} ms; load ${loadavg()[0]?.toFixed(2)}`,
  );
  return { sessionP50Ms, sessionCpuMs, loopMs, load1: loadavg()[0] };
}

const log = (line: string) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);

/** Creates at CLIENTS concurrency for a duration (s) or an amount, each with a new configName. */
async function createLoad(url: string, tag: string, load: { seconds?: number; amount?: number }) {
  const result = await autocannon({
    url: `${url}${CREATE_PATH}`,
    connections: Math.min(CLIENTS, load.amount ?? CLIENTS),
    ...(load.amount ? { amount: load.amount } : { duration: load.seconds ?? MEASURE_S }),
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-product-name': 'bench' },
        setupRequest: (req) => ({ ...req, body: nextBody(tag) }),
      },
    ],
  });
  const ok = result['2xx'];
  const refused = result.non2xx + result.errors + result.timeouts;
  if (refused > 0)
    log(`  ${tag}: ${refused} requests not answered 2xx (non2xx ${result.non2xx}, errors ${result.errors})`);
  const l = result.latency as unknown as Record<string, number>;
  return {
    throughput: ok / result.duration,
    p50: l.p50 ?? Number.NaN,
    p99: l.p99 ?? Number.NaN,
    refused,
    curve: CURVE.map((p) => l[`p${String(p).replace('.', '_')}`] ?? Number.NaN),
  };
}

async function main() {
  const started = performance.now();
  const admin = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
  await admin.connect();
  await admin.query('CREATE DATABASE dbconn_bench').catch((e: { code?: string }) => {
    if (e.code !== '42P04') throw e;
  });
  await admin.end();
  const db = new pg.Client({ connectionString: world.storeDbUrl });
  await db.connect();
  const redis = new Redis(world.redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue('verify', { connection: redis, prefix: world.prefix });
  const measures: Measure[] = [];
  const extra: Record<string, unknown> = {};
  const children: { stop(): Promise<void> }[] = [];
  let worker: Awaited<ReturnType<typeof startServiceWorker>> | undefined;
  const baseEnv = serviceEnv(world);
  const withWorker = async (concurrency: number) => {
    await stop(worker);
    worker = await startServiceWorker({ ...baseEnv, WORKER_CONCURRENCY: String(concurrency) });
  };
  const stopWorker = async () => {
    await stop(worker);
    worker = undefined;
  };
  const verifiedCount = async () =>
    Number(
      (
        await db.query(
          `SELECT count(*) AS n FROM ${world.schema}.connections WHERE status IN ('active', 'failed')`,
        )
      ).rows[0].n,
    );
  // Not `delayed`: the sweeper's job scheduler always keeps one delayed job in the queue.
  const backlog = async () => {
    const c = await queue.getJobCounts('waiting', 'prioritized');
    return Object.values(c).reduce((a, b) => a + b, 0);
  };
  /** Connections whose verification has not ended (retries included). */
  const unsettledCount = async () =>
    Number(
      (
        await db.query(
          `SELECT count(*) AS n FROM ${world.schema}.connections WHERE status IN ('pending', 'verifying')`,
        )
      ).rows[0].n,
    );

  /** CPU (ms) the PostgreSQL backends of one side's store connections have used so far. */
  const storeCpuMs = async (applicationName: string) => {
    const { rows } = await db.query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE application_name = $1',
      [applicationName],
    );
    return new Map(rows.map((r) => [r.pid, cpuMs(r.pid)]));
  };
  const storeCpuSince = async (applicationName: string, before: Map<number, number>) => {
    let total = 0;
    for (const [pid, now] of await storeCpuMs(applicationName)) total += now - (before.get(pid) ?? 0);
    return total;
  };

  teardown = () => removeWorld(stopWorker, children, queue, redis, db);
  try {
    log(`bench ${world.suffix}: quick=${QUICK} rounds=${ROUNDS} warm=${WARM_S}s measure=${MEASURE_S}s`);
    extra.machine = await calibrate(world.storeDbUrl);
    const api = await startServiceApi(baseEnv);
    children.push({ stop: () => stop(api.child) });
    // The bare table is the service's table (same columns and indexes): the same insert cost.
    await db.query(`CREATE SCHEMA ${world.bareSchema}`);
    await db.query(
      `CREATE TABLE ${world.bareSchema}.connections (LIKE ${world.schema}.connections INCLUDING ALL)`,
    );
    const bare = await startBareApi(world);
    children.push({ stop: () => stop(bare.child) });
    const verifier = await BareVerifier.start(world);
    children.push({ stop: () => stop(verifier.child) });
    /**
     * Refreshes the planner's statistics of both sides' tables, as autovacuum does within a minute in
     * steady state. The bench fills tables faster than that: indexes built on an empty table say
     * they hold nothing until analysed, and PostgreSQL then scanned an organization's or a partial
     * index for each lookup by id — 4.5–5.6 ms of store CPU per verification instead of 0.7–0.9 (README).
     */
    const analyze = () =>
      db.query(
        `ANALYZE ${world.schema}.connections, ${world.schema}.connection_history, ${world.bareSchema}.connections`,
      );
    const topUp = async (needed: number) => {
      const missing = needed - (await backlog());
      if (missing > 0) await createLoad(api.url, 'backlog', { amount: missing });
      await analyze();
    };
    const order = (round: number) =>
      round % 2 === 0 ? (['service', 'bare'] as const) : (['bare', 'service'] as const);

    if (PHASES.has('P1')) {
      const m: Measure = {
        name: 'P1 create, API alone',
        metrics: [
          { key: 'throughput', unit: 'creates/s', higherIsBetter: true },
          { key: 'p99', unit: 'ms', higherIsBetter: false },
          { key: 'cpuPerCreate', unit: 'ms of API CPU', higherIsBetter: false },
          { key: 'storeCpuPerCreate', unit: 'ms of PostgreSQL CPU', higherIsBetter: false },
          { key: 'machineCpuPerCreate', unit: 'ms of machine CPU', higherIsBetter: false },
          { key: 'redisCpuPerCreate', unit: 'ms of Redis CPU', higherIsBetter: false },
          { key: 'loadCpuPerCreate', unit: 'ms of load-generator CPU', higherIsBetter: false },
        ],
        rounds: [],
        note: 'cpuPerCreate: user+system CPU of the API process during the measure / creates answered (less moved by a shared machine than throughput); storeCpuPerCreate: the same for the PostgreSQL backends of its store connections (found by application_name): on 2 cores the API, PostgreSQL, Redis and the load generator share the CPU, so what a create costs the store is throughput too; machineCpuPerCreate: busy CPU of the whole machine (/proc/stat); redisCpuPerCreate: redis-server; loadCpuPerCreate: the bench process, where autocannon runs',
      };
      for (let r = 0; r < ROUNDS; r++) {
        const sides: Record<string, Sample> = {};
        const curves: Record<string, number[]> = {};
        for (const side of order(r)) {
          const target = side === 'service' ? api : bare;
          await createLoad(target.url, `p1-warm-${side}`, { seconds: WARM_S });
          const app = side === 'service' ? SERVICE_STORE_APP : BARE_STORE_APP;
          const store0 = await storeCpuMs(app);
          const cpu0 = cpuMs(target.child.pid);
          const machine0 = cpuNow(process.pid);
          const result = await createLoad(target.url, `p1-${side}`, { seconds: MEASURE_S });
          const machine = cpuSince(machine0, process.pid);
          const creates = result.throughput * MEASURE_S;
          sides[side] = {
            throughput: result.throughput,
            p99: result.p99,
            cpuPerCreate: (cpuMs(target.child.pid) - cpu0) / creates,
            storeCpuPerCreate: (await storeCpuSince(app, store0)) / creates,
            machineCpuPerCreate: machine.machine / creates,
            redisCpuPerCreate: machine.redis / creates,
            loadCpuPerCreate: machine.process / creates,
          };
          curves[side] = result.curve;
        }
        const s = sides.service as Sample;
        const b = sides.bare as Sample;
        m.rounds.push({ service: s, bare: b, first: order(r)[0] });
        m.curves = { service: curves.service ?? [], bare: curves.bare ?? [] };
        const say = (x: Sample) =>
          `${x.throughput?.toFixed(0)}/s p99 ${x.p99} ms, ${x.cpuPerCreate?.toFixed(2)} ms CPU/create (store ${x.storeCpuPerCreate?.toFixed(2)}, Redis ${x.redisCpuPerCreate?.toFixed(2)}, load generator ${x.loadCpuPerCreate?.toFixed(2)}, machine ${x.machineCpuPerCreate?.toFixed(2)})`;
        log(`P1 round ${r + 1}: service ${say(s)}; bare ${say(b)}`);
      }
      measures.push(m);
    }

    if (PHASES.has('P1b')) {
      const m: Measure = {
        name: 'P1b create, verifications alongside',
        metrics: [
          { key: 'throughput', unit: 'creates/s', higherIsBetter: true },
          { key: 'p99', unit: 'ms', higherIsBetter: false },
          { key: 'verifications', unit: '/s', higherIsBetter: true },
        ],
        rounds: [],
        note: `service: its worker (WORKER_CONCURRENCY=${WORKER_DEFAULT_CONCURRENCY}) draining a backlog of ≥${P1B_BACKLOG}; bare: its loop at the same concurrency paced to the worker's measured rate; service side first (it sets the pace)`,
      };
      for (let r = 0; r < ROUNDS; r++) {
        await stopWorker();
        await topUp(P1B_BACKLOG + 1_000);
        await withWorker(WORKER_DEFAULT_CONCURRENCY);
        await createLoad(api.url, 'p1b-warm-service', { seconds: WARM_S });
        const before = await verifiedCount();
        const t0 = performance.now();
        const s = await createLoad(api.url, 'p1b-service', { seconds: MEASURE_S });
        const rate = ((await verifiedCount()) - before) / ((performance.now() - t0) / 1000);
        await stopWorker();
        const loopOptions = { concurrency: WORKER_DEFAULT_CONCURRENCY, rate: Math.max(1, rate) };
        await Promise.all([
          verifier.run({ ...loopOptions, durationMs: WARM_S * 1000 }),
          createLoad(bare.url, 'p1b-warm-bare', { seconds: WARM_S }),
        ]);
        const [loop, b] = await Promise.all([
          verifier.run({ ...loopOptions, durationMs: MEASURE_S * 1000 }),
          createLoad(bare.url, 'p1b-bare', { seconds: MEASURE_S }),
        ]);
        const bareRate = loop.completed / loop.seconds;
        m.rounds.push({
          service: { throughput: s.throughput, p99: s.p99, verifications: rate },
          bare: { throughput: b.throughput, p99: b.p99, verifications: bareRate },
          first: 'service',
        });
        m.curves = { service: s.curve, bare: b.curve };
        log(
          `P1b round ${r + 1}: service ${s.throughput.toFixed(0)}/s p99 ${s.p99} ms (${rate.toFixed(0)} verif/s); bare ${b.throughput.toFixed(0)}/s p99 ${b.p99} ms (${bareRate.toFixed(0)} verif/s)`,
        );
      }
      measures.push(m);
    }

    if (PHASES.has('P3')) {
      const m: Measure = {
        name: `P3 verifications at concurrency ${P3_CONCURRENCY}`,
        metrics: [
          { key: 'rate', unit: 'verifications/s', higherIsBetter: true },
          { key: 'machineCpu', unit: 'ms of machine CPU per verification', higherIsBetter: false },
          { key: 'processCpu', unit: 'ms of worker/loop CPU per verification', higherIsBetter: false },
          { key: 'postgresCpu', unit: 'ms of PostgreSQL CPU per verification', higherIsBetter: false },
          { key: 'redisCpu', unit: 'ms of Redis CPU per verification', higherIsBetter: false },
          { key: 'storeCpu', unit: 'ms of store CPU per verification (service only)', higherIsBetter: false },
        ],
        rounds: [],
        note: 'machineCpu: busy CPU of the whole machine (every process: the worker or loop, PostgreSQL, Redis, the bench) during the measure / verifications; processCpu: the worker process or the bare loop alone; postgresCpu: every postgres process (store and target: one server), exited backends included; redisCpu: redis-server; storeCpu: the backends of the store connections of the worker (part of postgresCpu). With both cores busy, rate ≈ 2,000 ms / machineCpu',
      };
      for (let r = 0; r < ROUNDS; r++) {
        const sample: Record<string, Sample> = {};
        for (const side of order(r)) {
          if (side === 'service') {
            await stopWorker();
            await topUp((WARM_S + MEASURE_S) * 1_200);
            await withWorker(P3_CONCURRENCY);
            await sleep(WARM_S * 1000);
            const before = await verifiedCount();
            const start = cpuNow(worker?.pid);
            const store0 = await storeCpuMs(SERVICE_STORE_APP);
            const t0 = performance.now();
            await sleep(MEASURE_S * 1000);
            const used = cpuSince(start, worker?.pid);
            const storeUsed = await storeCpuSince(SERVICE_STORE_APP, store0);
            const done = (await verifiedCount()) - before;
            sample.service = {
              rate: done / ((performance.now() - t0) / 1000),
              ...perVerification(used, done),
              storeCpu: storeUsed / done,
            };
            await stopWorker();
          } else {
            await verifier.run({ concurrency: P3_CONCURRENCY, durationMs: WARM_S * 1000 });
            const start = cpuNow(verifier.child.pid);
            const loop = await verifier.run({ concurrency: P3_CONCURRENCY, durationMs: MEASURE_S * 1000 });
            const used = cpuSince(start, verifier.child.pid);
            sample.bare = {
              rate: loop.completed / loop.seconds,
              ...perVerification(used, loop.completed),
            };
          }
        }
        m.rounds.push({ service: sample.service as Sample, bare: sample.bare as Sample, first: order(r)[0] });
        log(
          `P3 round ${r + 1}: ${(['service', 'bare'] as const)
            .map(
              (side) =>
                `${side} ${sample[side]?.rate?.toFixed(0)}/s, ${sample[side]?.machineCpu?.toFixed(2)} ms machine CPU/verification (its process ${sample[side]?.processCpu?.toFixed(2)}, PostgreSQL ${sample[side]?.postgresCpu?.toFixed(2)}, Redis ${sample[side]?.redisCpu?.toFixed(2)}${side === 'service' ? `, of PostgreSQL the store's backends ${sample.service?.storeCpu?.toFixed(2)}` : ''})`,
            )
            .join('; ')}`,
        );
      }
      measures.push(m);
    }

    if (PHASES.has('P2')) {
      // An empty queue: each create is verified at once, not behind the backlog of the phases above.
      await stopWorker();
      await queue.drain(true);
      await analyze();
      await withWorker(WORKER_DEFAULT_CONCURRENCY);
      const subscriber = redis.duplicate();
      const settled = new Map<string, { at: number; status: string }>();
      const waiters = new Map<string, (v: { at: number; status: string }) => void>();
      subscriber.on('pmessage', (_pattern, _channel, message) => {
        const event = JSON.parse(message) as { id: string; status: string };
        if (event.status !== 'active' && event.status !== 'failed') return;
        const value = { at: performance.now(), status: event.status };
        const waiter = waiters.get(event.id);
        if (waiter) waiter(value);
        else settled.set(event.id, value);
      });
      await subscriber.psubscribe(`${world.prefix}:events:connection:*`);
      /** Where each measured create → active went: read back after the clock stopped. */
      const parts: { id: string; total: number; create: number }[] = [];
      const createToActive = async () => {
        const t0 = performance.now();
        const res = await fetch(`${api.url}${CREATE_PATH}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-product-name': 'bench' },
          body: nextBody('p2'),
        });
        const { id } = (await res.json()) as { id: string };
        const created = performance.now();
        if (res.status !== 201) throw new Error(`P2 create answered ${res.status}`);
        const done =
          settled.get(id) ?? (await new Promise<{ at: number; status: string }>((r) => waiters.set(id, r)));
        if (done.status !== 'active') throw new Error(`P2: the connection became ${done.status}, not active`);
        parts.push({ id, total: done.at - t0, create: created - t0 });
        return done.at - t0;
      };
      const m: Measure = {
        name: 'P2 create → active, sequential',
        metrics: [
          { key: 'p50', unit: 'ms', higherIsBetter: false },
          { key: 'p99', unit: 'ms', higherIsBetter: false },
        ],
        rounds: [],
        note: 'service: POST, then the worker\'s "active" event on Redis; bare: one driver check',
      };
      for (let r = 0; r < ROUNDS; r++) {
        const sample: Record<string, number[]> = {};
        for (const side of order(r)) {
          if (side === 'service') {
            for (let i = 0; i < 10; i++) await createToActive();
            parts.length = 0;
            const latencies: number[] = [];
            for (let i = 0; i < P2_RUNS; i++) latencies.push(await createToActive());
            sample.service = latencies;
          } else {
            await verifier.run({ concurrency: 1, count: 10 });
            sample.bare = (await verifier.run({ concurrency: 1, count: P2_RUNS })).latencies;
          }
        }
        const round = latencyRound(m, sample.service ?? [], sample.bare ?? [], order(r)[0]);
        log(`P2 round ${r + 1}: service ${round.service}; bare ${round.bare}`);
        const split = await p2Split(api.url, parts);
        extra.p2Split = [...((extra.p2Split as unknown[] | undefined) ?? []), split];
        log(
          `P2 round ${r + 1} split (medians, ms): create answered ${split.create} | queue pick-up + claim + result write + event ${split.bookkeeping} | the dial ${split.dial} (${Object.entries(
            split.stages,
          )
            .map(([name, ms]) => `${name} ${ms}`)
            .join(', ')})`,
        );
      }
      await subscriber.quit();
      extra.p2DifferenceP50Ms = m.rounds.map((r) => (r.service.p50 ?? 0) - (r.bare.p50 ?? 0));
      measures.push(m);
    }

    if (PHASES.has('P4')) {
      await stopWorker();
      await queue.drain(true);
      // The backlog's rows, whose jobs were just drained, would never settle: each batch starts from none.
      await db.query(`TRUNCATE ${world.schema}.connections`);
      await withWorker(WORKER_DEFAULT_CONCURRENCY);
      const m: Measure = {
        name: `P4 RSS after batches of ${P4_BATCH}`,
        metrics: [
          { key: 'apiRss', unit: 'MiB', higherIsBetter: false },
          { key: 'workerRss', unit: 'MiB', higherIsBetter: false },
        ],
        rounds: [],
        note: 'one row per batch is a "round" here; bare: the bare API and the bare verification loop process',
      };
      for (let k = 0; k < 3; k++) {
        await createLoad(api.url, `p4-${k}`, { amount: P4_BATCH });
        while ((await unsettledCount()) > 0) await sleep(250);
        const service = { apiRss: rssMiB(api.child.pid), workerRss: rssMiB(worker?.pid) };
        await createLoad(bare.url, `p4-bare-${k}`, { amount: P4_BATCH });
        await verifier.run({ concurrency: WORKER_DEFAULT_CONCURRENCY, count: P4_BATCH });
        const bareSample = { apiRss: rssMiB(bare.child.pid), workerRss: rssMiB(verifier.child.pid) };
        m.rounds.push({ service, bare: bareSample, first: 'service' });
        log(
          `P4 batch ${k + 1}: service API ${service.apiRss.toFixed(0)} MiB, worker ${service.workerRss.toFixed(0)} MiB; bare API ${bareSample.apiRss.toFixed(0)} MiB, loop ${bareSample.workerRss.toFixed(0)} MiB`,
        );
      }
      extra.p4 = m.rounds;
      measures.push(m);
    }

    if (PHASES.has('P5')) {
      await stopWorker();
      const t = `${world.schema}.connections`;
      await db.query(`TRUNCATE ${t}`);
      // Rows as the API stores them, inserted in creation order as creates arrive; five teams, so the
      // filter keeps a fifth (page 500 of 20 exists).
      await createLoad(api.url, 'p5-template', { amount: 1 });
      await db.query(
        `INSERT INTO ${t} (id, organization_id, config_name, config_name_key, product_name, type, host, port,
          database_name, user_name, schema, ssl_mode, sealed_secrets, metadata, status, verification, version,
          dial_version, created_at, updated_at, status_changed_at, last_verified_at)
         SELECT gen_random_uuid(), c.organization_id, 'p5-' || g, 'p5-' || g, c.product_name, c.type, c.host, c.port,
          c.database_name, c.user_name, c.schema, c.ssl_mode, c.sealed_secrets,
          jsonb_build_object('environment', 'bench', 'team', 'team-' || (g % 5)), 'active', NULL, 1, 1,
          c.created_at + g * interval '1 millisecond', now(), now(), now()
         FROM generate_series(1, $1::int - 1) g, (SELECT * FROM ${t} LIMIT 1) c ORDER BY g`,
        [P5_ROWS],
      );
      // The state is held still while it is measured: autovacuum would move it between rounds.
      await db.query(`ALTER TABLE ${t} SET (autovacuum_enabled = false)`);
      // After an import, autovacuum (or the README's VACUUM (ANALYZE)) marks the pages all-visible.
      await db.query(`VACUUM (ANALYZE) ${t}`);
      // The bare side sends the store's two queries at once, as the store does, on two clients with the
      // store's session settings.
      const [direct, directCount] = [0, 1].map(
        () => new pg.Client({ connectionString: world.storeDbUrl, options: storeSessionOptions() }),
      ) as [pg.Client, pg.Client];
      await Promise.all([direct.connect(), directCount.connect()]);
      const plans: Record<string, string> = {};
      // Page 500 of 20 needs 10,000 matches (a fifth of 50,000 rows); smaller smoke runs go as deep as they can.
      const deepPage = Math.max(2, Math.min(500, Math.floor(P5_ROWS / 5 / 20)));
      const listMeasure = async (page: number, state: string) => {
        const m: Measure = {
          name: `P5 list page ${page} of ${P5_ROWS}, ${state}`,
          metrics: [
            { key: 'p50', unit: 'ms', higherIsBetter: false },
            { key: 'p99', unit: 'ms', higherIsBetter: false },
          ],
          rounds: [],
          note: "bare: the store's two queries (page and count) sent directly with pg, in the same session settings",
        };
        const url = `${api.url}${CREATE_PATH}?page=${page}&limit=20&metadata.team=team-3`;
        const timed = async (fn: () => Promise<void>) => {
          const t0 = performance.now();
          await fn();
          return performance.now() - t0;
        };
        const get = async () => {
          const res = await fetch(url);
          const body = (await res.json()) as { items: unknown[] };
          if (res.status !== 200 || body.items.length !== 20)
            throw new Error(`P5 page ${page}: ${res.status}`);
        };
        // The store's list (packages/shared/src/store/postgres/postgres.store.ts), as it sends it.
        const where = `organization_id = $1 AND deleted_at IS NULL AND metadata @> $2::jsonb`;
        const params = ['default', JSON.stringify({ team: 'team-3' })];
        const orderBy = 'ORDER BY created_at DESC, id DESC';
        const pageSql = `SELECT * FROM ${t} WHERE id IN (SELECT id FROM ${t} WHERE ${where} ${orderBy} LIMIT 20 OFFSET ${(page - 1) * 20}) ${orderBy}`;
        const countSql = `SELECT count(*) AS total FROM ${t} WHERE ${where}`;
        const bare = async () => {
          await Promise.all([direct.query(pageSql, params), directCount.query(countSql, params)]);
        };
        const runs = { service: get, bare };
        for (let r = 0; r < ROUNDS; r++) {
          const times: Record<string, number[]> = {};
          for (const side of order(r)) {
            for (let i = 0; i < 20; i++) await runs[side]();
            times[side] = [];
            for (let i = 0; i < P5_RUNS; i++) times[side].push(await timed(runs[side]));
          }
          const round = latencyRound(m, times.service ?? [], times.bare ?? [], order(r)[0]);
          log(
            `P5 page ${page}, ${state}, round ${r + 1}: service ${round.service}; direct SQL ${round.bare}`,
          );
        }
        for (const [name, sql] of [
          ['page', pageSql],
          ['count', countSql],
        ] as const) {
          const plan = await direct.query(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${sql}`, params);
          plans[`page ${page} ${name}, ${state}`] = plan.rows
            .map((row: Record<string, string>) => row['QUERY PLAN'])
            .join('\n');
        }
        measures.push(m);
      };
      for (const page of [1, deepPage]) await listMeasure(page, 'vacuumed');
      // Verifications change rows all day; migration 7 has autovacuum come after 2% of them. This is
      // the table just before it comes: 2% of the rows changed since the last vacuum.
      await db.query(`UPDATE ${t} SET last_verified_at = now(), updated_at = now() WHERE random() < 0.02`);
      await db.query(`ANALYZE ${t}`);
      for (const page of [1, deepPage]) await listMeasure(page, '2% changed since the vacuum');
      await Promise.all([direct.end(), directCount.end()]);
      extra.p5Plans = plans;
      for (const [name, plan] of Object.entries(plans)) log(`P5 plan, ${name}:\n${plan}`);
    }

    const rows = measures.flatMap(rowsOf);
    const text = table(rows);
    process.stdout.write(`\n${text}\n\n`);
    const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
    const dir = resolve(ROOT, 'bench/results');
    mkdirSync(dir, { recursive: true });
    const json = {
      date: new Date().toISOString(),
      quick: QUICK,
      rounds: ROUNDS,
      warmSeconds: WARM_S,
      measureSeconds: MEASURE_S,
      machine: { cpus: cpus().length, loadavg: loadavg() },
      durationSeconds: (performance.now() - started) / 1000,
      rows,
      measures,
      ...extra,
    };
    writeFileSync(resolve(dir, `${stamp}.json`), `${JSON.stringify(json, null, 2)}\n`);
    writeFileSync(
      resolve(dir, `${stamp}.svg`),
      svgChart(
        `pnpm bench ${stamp}${QUICK ? ' (quick)' : ''}`,
        measures.flatMap((m) => (m.curves ? [{ name: m.name, ...m.curves }] : [])),
      ),
    );
    log(`results: bench/results/${stamp}.json and .svg (${json.durationSeconds.toFixed(0)} s)`);
  } finally {
    await cleanup();
  }
}

/** Stops every process of the run and removes its keys and schemas (set once main has them). */
let teardown: () => Promise<void> = async () => {};
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= teardown();
  return cleaning;
}

async function removeWorld(
  stopWorker: () => Promise<void>,
  children: { stop(): Promise<void> }[],
  queue: Queue,
  redis: Redis,
  db: pg.Client,
): Promise<void> {
  await stopWorker();
  for (const child of children.reverse()) await child.stop();
  await queue.close();
  // Everything of this run: the service's and the bare side's keys, the two schemas.
  for (const pattern of [`${world.prefix}:*`, `${world.barePrefix}:*`]) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  }
  redis.disconnect();
  await db.query(`DROP SCHEMA IF EXISTS ${world.schema} CASCADE`);
  await db.query(`DROP SCHEMA IF EXISTS ${world.bareSchema} CASCADE`);
  await db.end();
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});

/**
 * P2's time split, from the service's own record of each measured create: the POST's answer, the
 * dial (the verification's `latencyMs` and its stages' `durationMs`), and what is left — BullMQ's
 * pick-up, the claim, the result and history write, and the `active` event. Medians, ms.
 */
async function p2Split(
  apiUrl: string,
  parts: { id: string; total: number; create: number }[],
): Promise<{ create: number; bookkeeping: number; dial: number; stages: Record<string, number> }> {
  const median = (xs: number[]) => {
    const sorted = [...xs].sort((a, b) => a - b);
    return Math.round((sorted[Math.floor(sorted.length / 2)] ?? Number.NaN) * 10) / 10;
  };
  const dial: number[] = [];
  const bookkeeping: number[] = [];
  const stages = new Map<string, number[]>();
  for (const part of parts) {
    const res = await fetch(`${apiUrl}${CREATE_PATH}/${part.id}`, { headers: { 'x-product-name': 'bench' } });
    const body = (await res.json()) as {
      verification?: { latencyMs: number; stages: { name: string; durationMs: number }[] };
    };
    if (!body.verification) continue;
    dial.push(body.verification.latencyMs);
    bookkeeping.push(part.total - part.create - body.verification.latencyMs);
    for (const stage of body.verification.stages)
      stages.set(stage.name, [...(stages.get(stage.name) ?? []), stage.durationMs]);
  }
  return {
    create: median(parts.map((p) => p.create)),
    bookkeeping: median(bookkeeping),
    dial: median(dial),
    stages: Object.fromEntries([...stages].map(([name, xs]) => [name, median(xs)])),
  };
}

/** CPU used so far by the machine, one process, PostgreSQL and Redis (ms): see P3. */
function cpuNow(pid: number | undefined) {
  return {
    machine: machineBusyMs(),
    process: cpuMs(pid),
    postgres: commCpuMs('postgres'),
    redis: commCpuMs('redis-server'),
  };
}

function cpuSince(start: ReturnType<typeof cpuNow>, pid: number | undefined): ReturnType<typeof cpuNow> {
  const now = cpuNow(pid);
  return {
    machine: now.machine - start.machine,
    process: now.process - start.process,
    postgres: now.postgres - start.postgres,
    redis: now.redis - start.redis,
  };
}

function perVerification(used: ReturnType<typeof cpuNow>, verifications: number) {
  return {
    machineCpu: used.machine / verifications,
    processCpu: used.process / verifications,
    postgresCpu: used.postgres / verifications,
    redisCpu: used.redis / verifications,
  };
}
