import { type ChildProcess, fork, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const ROOT = resolve(import.meta.dirname, '../..');

/** A free loopback port (listen on 0, close, hand the number out). */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => done(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Resident set size of a process, MiB, from /proc (Linux). */
export function rssMiB(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(line?.replace(/\D+/g, '') ?? Number.NaN) / 1024;
}

/** CPU time (user + system) a process has used so far, ms, from /proc (Linux; clock ticks of 10 ms). */
export function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * Busy CPU time of the whole machine so far, ms, from /proc/stat (every core: user, nice, system,
 * irq, softirq, steal; not idle or iowait). On 2 cores everything a verification makes happen —
 * its own process, PostgreSQL's backends, Redis — shares this.
 */
export function machineBusyMs(): number {
  const [, ...ticks] = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/);
  const [user, nice, system, , , irq, softirq, steal] = ticks.map(Number);
  return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) * 10;
}

/**
 * CPU time (user + system) every process named `comm` has used so far, ms, ended ones included:
 * the live ones' own time, plus the reaped children's time their top process holds (PostgreSQL's
 * postmaster holds the time of every backend that has exited, one per verification here).
 */
export function commCpuMs(comm: string): number {
  const stats = new Map<number, string[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // ended between the listing and the read
    }
    if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) !== comm) continue;
    stats.set(Number(entry), stat.slice(stat.lastIndexOf(')') + 2).split(' '));
  }
  let ticks = 0;
  for (const fields of stats.values()) {
    // After the name: ppid is field 4 (index 1), utime 14, stime 15, cutime 16, cstime 17.
    ticks += Number(fields[11]) + Number(fields[12]);
    if (!stats.has(Number(fields[1]))) ticks += Number(fields[13]) + Number(fields[14]);
  }
  return ticks * 10;
}

async function waitFor(url: string, child: ChildProcess, name: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`${name} exited (${child.exitCode}) before it was ready`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {}
    await sleep(100);
  }
  throw new Error(`${name} not ready at ${url}`);
}

export async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(15_000)]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/** application_name of the service's and of the bare API's store connections. */
export const SERVICE_STORE_APP = 'bench-service';
export const BARE_STORE_APP = 'bench-bare';

/** What the service and the baselines share: one world per run, removed at the end. */
export interface World {
  suffix: string;
  /** The store's database: not `test`, the database verified (the service never dials its own store). */
  storeDbUrl: string;
  schema: string;
  bareSchema: string;
  prefix: string;
  barePrefix: string;
  redisUrl: string;
  /** The database every verification dials, on the same local PostgreSQL. */
  targetUrl: string;
  targetSchema: string;
}

export function newWorld(): World {
  const suffix = randomBytes(3).toString('hex');
  return {
    suffix,
    storeDbUrl: 'postgres://postgres@127.0.0.1:5432/dbconn_bench',
    schema: `bench_${suffix}`,
    bareSchema: `bench_${suffix}_bare`,
    prefix: `bench_${suffix}`,
    barePrefix: `bench_${suffix}_bare`,
    redisUrl: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
    targetUrl: 'postgres://postgres@127.0.0.1:5432/test',
    targetSchema: 'public',
  };
}

/**
 * `--cpu-prof` for one process (BENCH_CPU_PROF=api|worker|bare-api|bare-verify, or several joined by
 * commas): the profile is written when it exits.
 */
function nodeArgs(name: string): string[] {
  return (process.env.BENCH_CPU_PROF ?? '').split(',').includes(name)
    ? ['--cpu-prof', `--cpu-prof-dir=${resolve(ROOT, 'bench/results/profiles')}`]
    : [];
}

/**
 * The service as production runs it (scripts/start.mjs: node on the built output), NODE_ENV=production
 * with a fresh master key, auth off on loopback, request log at info to /dev/null.
 */
export function serviceEnv(world: World, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'production',
    AUTH_REQUIRED: 'false',
    MASTER_KEYS: `1:${randomBytes(32).toString('base64')}`,
    LOG_LEVEL: 'info',
    API_HOST: '127.0.0.1',
    // application_name: the bench finds the store's backends (their CPU per create) by it.
    STORE_URL: `${world.storeDbUrl}?schema=${world.schema}&application_name=${SERVICE_STORE_APP}`,
    REDIS_URL: world.redisUrl,
    QUEUE_PREFIX: world.prefix,
    // Measured is the API, not its port-scan guard (its Redis round trip still runs on every create).
    RATE_LIMIT_DIALS_PER_ORGANIZATION: '1000000',
    // Production refuses loopback targets: the bench's reachable database is the local PostgreSQL.
    EGRESS_ALLOW: '127.0.0.1',
    WORKER_HEALTH_HOST: '127.0.0.1',
    // Nothing re-enqueued behind the bench's back: no periodic re-verification, no sweeps of the backlog.
    REVERIFY_INTERVAL_MS: '0',
    SWEEP_STALE_AFTER_MS: '86400000',
    // BENCH_SERVICE_ENV='WORKER_NICE=0 …': settings of the service to compare (e.g. before and after).
    ...Object.fromEntries(
      (process.env.BENCH_SERVICE_ENV ?? '')
        .split(/\s+/)
        .filter(Boolean)
        .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
    ),
    ...extra,
  };
}

export async function startServiceApi(
  env: Record<string, string>,
): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const child = spawn(process.execPath, [...nodeArgs('api'), 'packages/api/dist/main.js'], {
    cwd: ROOT,
    env: { ...env, API_PORT: String(port) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`${url}/ready`, child, 'service API');
  return { child, url };
}

export async function startServiceWorker(env: Record<string, string>): Promise<ChildProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [...nodeArgs('worker'), 'packages/worker/dist/main.js'], {
    cwd: ROOT,
    env: { ...env, WORKER_HEALTH_PORT: String(port) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitFor(`http://127.0.0.1:${port}/ready`, child, 'service worker');
  return child;
}

function forkReady(file: string, profileName: string, env: Record<string, string>): Promise<ChildProcess> {
  const child = fork(resolve(ROOT, file), [], {
    cwd: resolve(ROOT, 'bench'),
    execArgv: nodeArgs(profileName),
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', ...env },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  return new Promise((done, fail) => {
    child.once('message', () => done(child));
    child.once('exit', (code) => fail(new Error(`${file} exited (${code}) before it was ready`)));
  });
}

export async function startBareApi(world: World): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const child = await forkReady('bench/bare/api.mjs', 'bare-api', {
    BARE_STORE_URL: world.storeDbUrl,
    BARE_SCHEMA: world.bareSchema,
    BARE_STORE_APP,
    REDIS_URL: world.redisUrl,
    BARE_PREFIX: world.barePrefix,
    PORT: String(port),
  });
  return { child, url: `http://127.0.0.1:${port}` };
}

export interface LoopResult {
  completed: number;
  failed: number;
  seconds: number;
  latencies: number[];
}

export class BareVerifier {
  private constructor(readonly child: ChildProcess) {}

  static async start(world: World): Promise<BareVerifier> {
    return new BareVerifier(
      await forkReady('bench/bare/verify.mjs', 'bare-verify', {
        TARGET_URL: world.targetUrl,
        TARGET_SCHEMA: world.targetSchema,
      }),
    );
  }

  run(options: {
    concurrency: number;
    rate?: number;
    durationMs?: number;
    count?: number;
  }): Promise<LoopResult> {
    return new Promise((done) => {
      this.child.once('message', (result) => done(result as LoopResult));
      this.child.send(options);
    });
  }
}
