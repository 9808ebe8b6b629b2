/**
 * `pnpm chaos`: two APIs and three workers on their own Redis and PostgreSQL store (started here,
 * on private loopback ports, in temp dirs), under a stream of creates, while processes are killed
 * and Redis and the store fail. Then every acknowledged create is checked. Prints one table and
 * exits 1 when anything was lost, duplicated, stranded, judged wrongly, left hanging or given up
 * on, or a fault was not recovered from within one sweep interval of its end.
 *
 * CHAOS_SECONDS (default 300) bounds the fault phase; the drain after it is bounded too.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  closedPort,
  freePort,
  type PostgresFixture,
  type RedisFixture,
  startPostgres,
  startRedis,
} from '@dbconn/worker/test-fixtures';
import pg from 'pg';

const SECONDS = Number(process.env.CHAOS_SECONDS ?? 300);
if (!Number.isFinite(SECONDS) || SECONDS < 60) throw new Error('CHAOS_SECONDS must be at least 60');
/** The sweeper runs often so that jobs lost with Redis come back within seconds. */
const SWEEP_INTERVAL_MS = 2_000;
const SWEEP_STALE_AFTER_MS = 6_000;
const STORE_TIMEOUT_MS = 2_000;
/** A request not answered within this is counted as hung (the store deadline plus slack for a loaded machine). */
const REQUEST_BOUND_MS = STORE_TIMEOUT_MS + 8_000;
/** How long Redis and the store stay down or frozen. */
const DOWNTIME_MS = Math.min(20_000, SECONDS * 100);
/** Longest wait for a probe to see the service whole again after a fault. */
const RECOVERY_LIMIT_MS = 90_000;
/**
 * The promise: once a fault is over (the dependency or process is back), the service is whole again
 * within one sweep interval — i.e. within SWEEP_INTERVAL_MS + the downtime, counted from the fault.
 */
const RECOVERY_BOUND_MS = SWEEP_INTERVAL_MS;
const WORKER_KILLS = Math.max(20, Math.round(SECONDS / 12));
/** The load: one create started every CREATE_EVERY_MS, at most CREATE_IN_FLIGHT waiting at once. */
const CREATE_EVERY_MS = 200;
const CREATE_IN_FLIGHT = 8;
/**
 * How long the client keeps retrying one create (same Idempotency-Key) through lost answers, 503s and
 * IDEMPOTENCY_KEY_IN_PROGRESS: longer than the longest outage plus the idempotency lease, as a
 * patient client would.
 */
const CREATE_GIVE_UP_MS = DOWNTIME_MS + 40_000;
/** The pause before a retry whose answer named no Retry-After (a lost answer). */
const RETRY_PAUSE_MS = 500;
/** A process that exits is started again after this, as a supervisor (systemd, Kubernetes) would. */
const RESTART_DELAY_MS = 1_000;

const API_DIR = fileURLToPath(new URL('../', import.meta.url));
const WORKER_DIR = fileURLToPath(new URL('../../worker/', import.meta.url));

type Kind = 'reachable' | 'wrong-password' | 'closed-port';
const EXPECTED: Record<Kind, 'active' | 'failed'> = {
  reachable: 'active',
  'wrong-password': 'failed',
  'closed-port': 'failed',
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const started = Date.now();
const elapsed = () => ((Date.now() - started) / 1000).toFixed(1);
const say = (line: string) => process.stdout.write(`[chaos ${elapsed()}s] ${line}\n`);

// ——— processes ———

interface Slot {
  name: string;
  role: 'api' | 'worker';
  port: number;
  child?: ChildProcess;
  exited?: Promise<void>;
  rssStartMiB?: number;
}

function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'LANG']) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

let logDir = '';
let serviceEnv: Record<string, string> = {};

function launch(slot: Slot): void {
  const cwd = slot.role === 'api' ? API_DIR : WORKER_DIR;
  const env = {
    ...baseEnv(),
    ...serviceEnv,
    ...(slot.role === 'api' ? { API_PORT: String(slot.port) } : { WORKER_HEALTH_PORT: String(slot.port) }),
  };
  const child = spawn(process.execPath, ['--conditions=@dbconn/source', '--import', 'tsx', 'src/main.ts'], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = createWriteStream(join(logDir, `${slot.name}.log`), { flags: 'a' });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  slot.child = child;
  slot.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  // The supervisor: whatever ended the process (a kill of this run, or its own exit because a
  // dependency was down at start), it is started again, unless the run is over.
  child.once('exit', () => {
    if (stopping || slot.child !== child) return;
    setTimeout(() => {
      if (!stopping && slot.child === child) launch(slot);
    }, RESTART_DELAY_MS);
  });
}

let stopping = false;

async function isReady(slot: Slot): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${slot.port}/ready`, { signal: AbortSignal.timeout(3_000) });
    return res.status === 200;
  } catch {
    return false;
  }
}

async function waitReady(slot: Slot, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await isReady(slot))) {
    if (Date.now() > until)
      throw new Error(`${slot.name} did not become ready (see ${logDir}/${slot.name}.log)`);
    await sleep(200);
  }
}

/** Signals the slot's process and waits for it to end; false when no process was running (between restarts). */
async function killSlot(slot: Slot, signal: NodeJS.Signals): Promise<boolean> {
  const child = slot.child;
  if (!child || child.exitCode !== null || child.signalCode !== null) return false;
  const exited = slot.exited;
  child.kill(signal);
  await exited;
  return true;
}

async function rssMiB(slot: Slot): Promise<number | undefined> {
  const pid = slot.child?.pid;
  if (!pid) return undefined;
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  return match ? Math.round(Number(match[1]) / 1024) : undefined;
}

// ——— load ———

interface Intent {
  configName: string;
  kind: Kind;
  idempotencyKey: string;
  /** Ids the API answered 201 with for this create (more than one = a duplicate). */
  ids: Set<string>;
  /** The answer the client gave up on (`409 CONFIG_NAME_TAKEN`, `retries exhausted`), if it did. */
  gaveUpOn?: string;
}

const counts = { requests: 0, hung: 0, networkErrors: 0 };
/** Every answer a load create got, attempts included, by `status code` (`201`, `503 UNAVAILABLE`, `network`). */
const createAnswers = new Map<string, number>();
const tally = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
const intents: Intent[] = [];
let apis: Slot[] = [];
let workers: Slot[] = [];
let targets: { reachable: object; wrongPassword: object; closedPort: object };

async function request(
  api: Slot,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown>; retryAfterMs?: number } | 'hung' | 'network'> {
  counts.requests++;
  try {
    const res = await fetch(`http://127.0.0.1:${api.port}/v1/management/connections${path}`, {
      method,
      headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(REQUEST_BOUND_MS),
    });
    const text = await res.text();
    const retryAfter = Number(res.headers.get('retry-after'));
    return {
      status: res.status,
      body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
      ...(retryAfter > 0 ? { retryAfterMs: retryAfter * 1000 } : {}),
    };
  } catch (err) {
    if (err instanceof Error && err.name === 'TimeoutError') {
      counts.hung++;
      say(`HUNG: ${method} ${path} on ${api.name} past ${REQUEST_BOUND_MS} ms`);
      return 'hung';
    }
    counts.networkErrors++;
    return 'network';
  }
}

function bodyFor(kind: Kind, configName: string): object {
  const settings =
    kind === 'reachable'
      ? targets.reachable
      : kind === 'wrong-password'
        ? targets.wrongPassword
        : targets.closedPort;
  return { configName, ...settings };
}

/**
 * Whether a client should send the same create again (same key): its answer was lost or hung, the
 * service was unavailable, or the first attempt with the key still holds it. Any other 4xx is final.
 */
function isRetryable(status: number, code: unknown): boolean {
  return status >= 500 || status === 429 || (status === 409 && code === 'IDEMPOTENCY_KEY_IN_PROGRESS');
}

/**
 * One create as a careful client makes it: with an Idempotency-Key, sent again with that key to the
 * other API after a lost answer, a 5xx or IDEMPOTENCY_KEY_IN_PROGRESS (after Retry-After), until it
 * is answered 201 or a final 4xx, or CREATE_GIVE_UP_MS has passed.
 */
async function createOnce(serial: number): Promise<void> {
  const kind: Kind = (['reachable', 'reachable', 'wrong-password', 'closed-port'] as const)[
    serial % 4
  ] as Kind;
  const intent: Intent = {
    configName: `chaos-${serial}`,
    kind,
    idempotencyKey: randomUUID(),
    ids: new Set(),
  };
  intents.push(intent);
  const giveUpAt = Date.now() + CREATE_GIVE_UP_MS;
  for (let attempt = 0; ; attempt++) {
    const api = apis[(serial + attempt) % apis.length] as Slot;
    const res = await request(api, 'POST', '', bodyFor(kind, intent.configName), {
      'x-product-name': 'chaos',
      'idempotency-key': intent.idempotencyKey,
    });
    const answer = typeof res === 'object' ? `${res.status} ${res.body.code ?? ''}`.trim() : res;
    tally(createAnswers, answer);
    if (typeof res === 'object' && res.status === 201) {
      intent.ids.add(res.body.id as string);
      return;
    }
    if (typeof res === 'object' && !isRetryable(res.status, res.body.code)) {
      intent.gaveUpOn = answer;
      say(`create ${intent.configName} given up on ${answer} (attempt ${attempt + 1})`);
      return;
    }
    if (Date.now() > giveUpAt) {
      intent.gaveUpOn = `retries exhausted (last: ${answer})`;
      say(`create ${intent.configName} given up after ${attempt + 1} attempts (last: ${answer})`);
      return;
    }
    await sleep(typeof res === 'object' ? (res.retryAfterMs ?? RETRY_PAUSE_MS) : RETRY_PAUSE_MS);
  }
}

let loadRunning = true;
async function runLoad(): Promise<void> {
  let serial = 0;
  const inFlight = new Set<Promise<void>>();
  while (loadRunning) {
    if (inFlight.size < CREATE_IN_FLIGHT) {
      const create: Promise<void> = createOnce(serial++).finally(() => inFlight.delete(create));
      inFlight.add(create);
    }
    await sleep(CREATE_EVERY_MS);
  }
  await Promise.all(inFlight);
}

// ——— recovery probes ———

/**
 * Whether a recovery probe is measuring: worker kills wait for it to end. A probe's job taken by a
 * worker killed under it waits out BullMQ's stalled check (STALLED_INTERVAL_MS, once or twice), and
 * that would time the kill, not the fault the probe follows (a 15.5 s "store freeze" recovery on
 * 2026-12-06 was a worker killed 2 s into the probe). What a kill costs is counted apart: no
 * verification may be lost or stranded by one.
 */
let probing = false;

/** Time from `since` until a new reachable create answers 201 and is verified `active`. */
async function recoveryMs(since: number, label: string): Promise<number> {
  probing = true;
  try {
    return await probe(since, label);
  } finally {
    probing = false;
  }
}

async function probe(since: number, label: string): Promise<number> {
  const until = since + RECOVERY_LIMIT_MS;
  const configName = `probe-${label}-${randomUUID().slice(0, 8)}`;
  const idempotencyKey = randomUUID();
  let id: string | undefined;
  let turn = 0;
  while (Date.now() < until) {
    const api = apis[turn++ % apis.length] as Slot;
    if (!id) {
      const res = await request(api, 'POST', '', bodyFor('reachable', configName), {
        'x-product-name': 'chaos-probe',
        'idempotency-key': idempotencyKey,
      });
      if (typeof res === 'object' && res.status === 201) id = res.body.id as string;
    } else {
      const res = await request(api, 'GET', `/${id}`);
      if (typeof res === 'object' && res.body.status === 'active') return Date.now() - since;
    }
    await sleep(250);
  }
  return Number.POSITIVE_INFINITY;
}

// ——— faults ———

const faults = { workerKills: 0, apiKills: 0, sigterms: 0 };
const recovery = {
  entries: [] as { fault: string; ms: number }[],
  push(entry: { fault: string; ms: number }) {
    this.entries.push(entry);
    say(`${entry.fault}: recovered in ${(entry.ms / 1000).toFixed(1)} s`);
  },
};

async function start(slot: Slot): Promise<void> {
  launch(slot);
  await waitReady(slot);
}

async function killWorkersLoop(untilMs: number): Promise<void> {
  const every = Math.max(500, (untilMs - Date.now()) / WORKER_KILLS);
  // Every planned kill happens (the count is the contract); the time only sets the pace.
  while (faults.workerKills < WORKER_KILLS) {
    await sleep(every * (0.5 + Math.random()));
    // The victim is a worker at work (ready): a process still booting, or one waiting out a Redis or
    // store outage, holds no job, and killing it again and again would only keep it down.
    let victim: Slot | undefined;
    while (!victim) {
      while (probing) await sleep(250);
      const ready = (
        await Promise.all(workers.map(async (w) => ((await isReady(w)) ? w : undefined)))
      ).filter((w): w is Slot => w !== undefined);
      // A probe that started while readiness was asked still gets its quiet.
      victim = probing ? undefined : ready[Math.floor(Math.random() * ready.length)];
      if (!victim) await sleep(500);
    }
    if (await killSlot(victim, 'SIGKILL')) faults.workerKills++;
  }
}

async function killApi(index: number): Promise<void> {
  const slot = apis[index % apis.length] as Slot;
  say(`kill -9 ${slot.name}`);
  if (await killSlot(slot, 'SIGKILL')) faults.apiKills++;
  await sleep(RESTART_DELAY_MS * 2);
  await waitReady(slot);
  recovery.push({ fault: `API kill -9 (${slot.name})`, ms: await recoveryMs(Date.now(), 'api') });
}

async function redisDataLoss(redis: RedisFixture): Promise<void> {
  say(`Redis killed; back empty in ${DOWNTIME_MS} ms`);
  await redis.kill();
  await sleep(DOWNTIME_MS);
  await redis.restart();
  recovery.push({ fault: 'Redis stop with data loss', ms: await recoveryMs(Date.now(), 'redis') });
}

async function storeStop(store: PostgresFixture): Promise<void> {
  say(`store stopped for ${DOWNTIME_MS} ms`);
  await store.halt();
  await sleep(DOWNTIME_MS);
  await store.resume();
  recovery.push({ fault: 'store stop', ms: await recoveryMs(Date.now(), 'store') });
}

async function storeFreeze(store: PostgresFixture): Promise<void> {
  say(`store frozen (SIGSTOP) for ${DOWNTIME_MS} ms`);
  const signal = (pids: number[], name: NodeJS.Signals) => {
    for (const pid of pids) {
      try {
        process.kill(pid, name);
      } catch {
        // A backend that ended between the listing and the signal.
      }
    }
  };
  const pids = await store.serverPids();
  // Whatever happens next, a frozen server is thawed before it is stopped (a stopped one ignores pg_ctl).
  thaw = () => signal([...pids], 'SIGCONT');
  signal(pids, 'SIGSTOP');
  await sleep(DOWNTIME_MS);
  signal([...pids, ...(await store.serverPids())], 'SIGCONT');
  thaw = () => undefined;
  recovery.push({ fault: 'store freeze', ms: await recoveryMs(Date.now(), 'freeze') });
}

async function rollingRestart(): Promise<void> {
  for (const slot of workers) {
    say(`SIGTERM ${slot.name}`);
    if (await killSlot(slot, 'SIGTERM')) faults.sigterms++;
    await sleep(RESTART_DELAY_MS * 2);
    await waitReady(slot);
  }
  recovery.push({ fault: 'rolling SIGTERM of the workers', ms: await recoveryMs(Date.now(), 'rolling') });
}

// ——— verdicts ———

/** The status of every acknowledged id, read from the store itself; `missing` when it has no live row. */
async function finalStatuses(store: PostgresFixture): Promise<Map<string, string>> {
  const ids = intents.flatMap((intent) => [...intent.ids]);
  const client = new pg.Client({ host: '127.0.0.1', port: store.port, user: 'postgres', database: 'chaos' });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: string; status: string }>(
      'SELECT id::text, status FROM connections WHERE id::text = ANY($1) AND deleted_at IS NULL',
      [ids],
    );
    const found = new Map(rows.map((row) => [row.id, row.status]));
    return new Map(ids.map((id) => [id, found.get(id) ?? 'missing']));
  } finally {
    await client.end();
  }
}

/** Servers started by this run, stopped however it ends. */
const servers: { stop(): Promise<void> }[] = [];

let thaw: () => void = () => undefined;

async function stopEverything(): Promise<void> {
  stopping = true;
  thaw();
  for (const slot of [...apis, ...workers]) slot.child?.kill('SIGKILL');
  await Promise.all(servers.map((server) => server.stop().catch(() => undefined)));
}

async function main(): Promise<void> {
  logDir = await mkdtemp(join(tmpdir(), 'dbconn-chaos-'));
  say(
    `logs in ${logDir}; fault phase ${SECONDS} s, downtime ${DOWNTIME_MS} ms, ${WORKER_KILLS} worker kills`,
  );
  const redis = await startRedis();
  servers.push(redis);
  // The store; its server also holds the role `target`, whose password the wrong-password creates miss.
  const store = await startPostgres({
    hba: ['host all postgres 127.0.0.1/32 trust', 'host all all 127.0.0.1/32 scram-sha-256'],
    maxConnections: 200,
  });
  servers.push(store);
  await store.admin('CREATE DATABASE chaos');
  await store.admin(`CREATE ROLE target LOGIN PASSWORD 'right-password'`);
  // The reachable database lives on a server no fault touches, so its verdict never changes.
  const reachable = await startPostgres({ hba: ['host all all 127.0.0.1/32 trust'] });
  servers.push(reachable);
  targets = {
    reachable: {
      type: 'POSTGRESQL',
      host: '127.0.0.1',
      port: reachable.port,
      databaseName: 'postgres',
      userName: 'postgres',
      password: 'trusted',
    },
    wrongPassword: {
      type: 'POSTGRESQL',
      host: '127.0.0.1',
      port: store.port,
      databaseName: 'postgres',
      userName: 'target',
      password: 'wrong-password',
    },
    closedPort: {
      type: 'POSTGRESQL',
      host: '127.0.0.1',
      port: await closedPort(),
      databaseName: 'postgres',
      userName: 'postgres',
      password: 'x',
    },
  };
  serviceEnv = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    STORE_URL: `postgres://postgres@127.0.0.1:${store.port}/chaos`,
    REDIS_URL: redis.url,
    QUEUE_PREFIX: 'chaos',
    STORE_TIMEOUT_MS: String(STORE_TIMEOUT_MS),
    SWEEP_INTERVAL_MS: String(SWEEP_INTERVAL_MS),
    SWEEP_STALE_AFTER_MS: String(SWEEP_STALE_AFTER_MS),
    VERIFY_TIMEOUT_MS: '5000',
    VERIFY_STAGE_TIMEOUT_MS: '2000',
    VERIFY_BACKOFF_MS: '500',
    RATE_LIMIT_DIALS_PER_ORGANIZATION: '1000000',
  };
  apis = [0, 1].map((i) => ({ name: `api-${i + 1}`, role: 'api' as const, port: 0 }));
  workers = [0, 1, 2].map((i) => ({ name: `worker-${i + 1}`, role: 'worker' as const, port: 0 }));
  for (const slot of [...apis, ...workers]) slot.port = await freePort();
  // The first API creates the schema alone; the others start against a ready store.
  await start(apis[0] as Slot);
  await Promise.all([...apis.slice(1), ...workers].map(start));
  for (const slot of [...apis, ...workers]) slot.rssStartMiB = await rssMiB(slot);
  say('2 APIs and 3 workers ready; load starts');

  const load = runLoad();
  const phaseStart = Date.now();
  const at = (fraction: number) => phaseStart + SECONDS * 1000 * fraction;
  const until = async (fraction: number) => {
    if (Date.now() < at(fraction)) await sleep(at(fraction) - Date.now());
  };
  const workerKills = killWorkersLoop(at(0.75));
  try {
    await until(0.1);
    await killApi(0);
    await until(0.2);
    await redisDataLoss(redis);
    await until(0.35);
    await killApi(1);
    await until(0.45);
    await storeStop(store);
    await until(0.6);
    await storeFreeze(store);
    await until(0.7);
    await killApi(0);
    await workerKills;
    await until(0.8);
    await rollingRestart();
    await until(1);
  } finally {
    loadRunning = false;
    await load;
  }

  say('faults over; waiting for every acknowledged create to settle');
  const drainUntil = Date.now() + SWEEP_STALE_AFTER_MS + 6 * SWEEP_INTERVAL_MS + 60_000;
  let statuses = await finalStatuses(store);
  while (
    [...statuses.values()].some((s) => s === 'pending' || s === 'verifying') &&
    Date.now() < drainUntil
  ) {
    await sleep(2_000);
    statuses = await finalStatuses(store);
  }

  const acknowledged = intents.filter((i) => i.ids.size > 0);
  const lost = [...statuses.entries()].filter(([, s]) => s === 'missing');
  const stranded = [...statuses.entries()].filter(([, s]) => s === 'pending' || s === 'verifying');
  const wrong = acknowledged.flatMap((intent) =>
    [...intent.ids].filter((id) => {
      const s = statuses.get(id);
      return (s === 'active' || s === 'failed') && s !== EXPECTED[intent.kind];
    }),
  );
  const duplicatedIntents = acknowledged.filter((i) => i.ids.size > 1);
  // Rows the store holds for one create more than once (a retry that created a second record).
  const storeClient = new pg.Client({
    host: '127.0.0.1',
    port: store.port,
    user: 'postgres',
    database: 'chaos',
  });
  await storeClient.connect();
  const twice = await storeClient.query(
    `SELECT config_name FROM connections WHERE config_name LIKE 'chaos-%' GROUP BY config_name HAVING count(*) > 1`,
  );
  // Each create given up on, explained: the answer it ended on, and whether the store holds its
  // connection anyway (a create that landed although its answer never reached the client).
  const givenUp = intents.filter((i) => i.gaveUpOn !== undefined);
  const storedNames = new Set(
    (
      await storeClient.query<{ config_name: string }>(
        'SELECT config_name FROM connections WHERE config_name = ANY($1) AND deleted_at IS NULL',
        [givenUp.map((i) => i.configName)],
      )
    ).rows.map((row) => row.config_name),
  );
  const givenUpWhy = new Map<string, number>();
  for (const intent of givenUp) {
    tally(givenUpWhy, `${intent.gaveUpOn}, ${storedNames.has(intent.configName) ? 'stored' : 'not stored'}`);
  }
  await storeClient.end();
  const unsent = intents.filter((i) => i.ids.size === 0 && i.gaveUpOn === undefined);
  const duplicated = duplicatedIntents.length + twice.rows.length;
  const rss = await Promise.all(
    [...apis, ...workers].map(async (slot) => ({ slot, end: await rssMiB(slot) })),
  );

  const table: [string, string | number][] = [
    ['worker kill -9', faults.workerKills],
    ['API kill -9', faults.apiKills],
    ['worker SIGTERM (rolling)', faults.sigterms],
    ['creates acknowledged (201)', acknowledged.length],
    ...[...createAnswers.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([answer, n]): [string, number] => [`create answers (every attempt): ${answer}`, n]),
    ['creates given up', givenUp.length],
    ...[...givenUpWhy.entries()].map(([why, n]): [string, number] => [`  given up: ${why}`, n]),
    ['creates still unanswered at the end', unsent.length],
    [
      'connections final (active/failed)',
      [...statuses.values()].filter((s) => s === 'active' || s === 'failed').length,
    ],
    ['lost', lost.length],
    ['duplicated', duplicated],
    ['stranded (pending/verifying)', stranded.length],
    ['wrong verdicts', wrong.length],
    [`requests hung past ${REQUEST_BOUND_MS} ms`, counts.hung],
    ...recovery.entries.map(({ fault, ms }): [string, string] => [
      `recovery after ${fault} (bound ${RECOVERY_BOUND_MS / 1000} s)`,
      Number.isFinite(ms)
        ? `${(ms / 1000).toFixed(1)} s${ms > RECOVERY_BOUND_MS ? ` — over the ${RECOVERY_BOUND_MS / 1000} s bound` : ''}`
        : 'never (Infinity)',
    ]),
    ...rss.map(({ slot, end }): [string, string] => [
      `RSS ${slot.name} start → end`,
      `${slot.rssStartMiB ?? '?'} → ${end ?? '?'} MiB`,
    ]),
  ];
  const width = Math.max(...table.map(([k]) => k.length));
  process.stdout.write(`\n${'what'.padEnd(width)} | value\n${'-'.repeat(width)}-|------\n`);
  for (const [key, value] of table) process.stdout.write(`${key.padEnd(width)} | ${value}\n`);
  for (const [id, status] of [...lost, ...stranded].slice(0, 10)) say(`not settled: ${id} ${status}`);

  stopping = true;
  for (const slot of [...apis, ...workers]) await killSlot(slot, 'SIGTERM');
  await stopEverything();
  const mustBeZero = [
    lost.length,
    duplicated,
    stranded.length,
    wrong.length,
    counts.hung,
    givenUp.length,
    unsent.length,
  ];
  const failed =
    mustBeZero.some((n) => n > 0) || recovery.entries.some(({ ms }) => !(ms <= RECOVERY_BOUND_MS));
  if (!failed) await rm(logDir, { recursive: true, force: true });
  else say(`logs kept in ${logDir}`);
  process.exit(failed ? 1 : 0);
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    say(`${signal}: stopping everything`);
    void stopEverything().then(() => process.exit(130));
  });
}
main().catch(async (err: unknown) => {
  process.stderr.write(
    `chaos run failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  await stopEverything();
  process.exit(2);
});
