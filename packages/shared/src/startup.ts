import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from './config.js';
import { AppError } from './errors.js';
import type { Logger } from './logger.js';
import type { ReadyDependency } from './readiness.js';
import { connectRedis, isRedisRefusal, type Redis, reportRedisTrouble } from './redis.js';
import { type ConnectionStore, createStore } from './store/index.js';

/**
 * How a process waits for the store and Redis at start (docs/contract.md §9): the wait doubles from
 * the first, never above the cap. The cap is short because it is also how late a waiting process
 * notices that a dependency came back; one connection attempt every few seconds costs nothing.
 */
export const START_RETRY = { firstDelayMs: 250, maxDelayMs: 5_000 } as const;

/**
 * The wait after the `failures`-th failed attempt: capped exponential, drawn between half and all
 * of it, so processes restarted together (a deploy, a node lost) do not knock in step.
 */
export function startRetryDelayMs(failures: number, random: () => number = Math.random): number {
  const ceiling = Math.min(START_RETRY.maxDelayMs, START_RETRY.firstDelayMs * 2 ** Math.max(0, failures - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * A dependency refused what the configuration says (wrong credentials, no such database, a URL it
 * cannot use): waiting cannot help, so the process stops with this message, which names the
 * variable and never holds a secret.
 */
export class StartupError extends Error {
  constructor(
    readonly dependency: ReadyDependency,
    message: string,
  ) {
    super(message);
    this.name = 'StartupError';
  }
}

/**
 * What /ready pings while the dependency is still awaited: down until `current` is set. The ops
 * server and the API's waiting server answer 503 naming it, as they would for an outage.
 */
export class PendingDependency<T extends { ping(): Promise<unknown> }> {
  current: T | undefined;
  ping(): Promise<unknown> {
    return this.current ? this.current.ping() : Promise.reject(new Error('not connected yet (starting)'));
  }
}

export interface WaitOptions {
  log: Logger;
  /** Aborted on SIGTERM/SIGINT: the wait ends at once with an AbortError. */
  signal: AbortSignal;
}

/** Each dependency in the messages: the variable it comes from and its name. */
const NAMED: Record<ReadyDependency, { variable: string; name: string }> = {
  store: { variable: 'STORE_URL', name: 'the store' },
  redis: { variable: 'REDIS_URL', name: 'Redis' },
};

/**
 * The store, initialised (migrations run), once it answers: each failed attempt is logged once and
 * retried after `startRetryDelayMs`. Only UNAVAILABLE (the store's own word for "down, try later")
 * is waited for; anything else (wrong password, no such database) is a StartupError.
 */
export function openStore(config: Config, options: WaitOptions): Promise<ConnectionStore> {
  const secrets = secretsOf(config);
  return untilUp(
    'store',
    async () => {
      const store = await createStore(config.store.url, config.store);
      try {
        await store.init();
        return store;
      } catch (error) {
        // A fresh store per attempt: a MongoDB client whose first connect failed does not retry.
        await store.close().catch(() => {});
        throw error;
      }
    },
    (error) => error instanceof AppError && error.code === 'UNAVAILABLE',
    secrets,
    options,
  );
}

/**
 * A connected Redis client (commands, not blocking) once Redis answers, with its later outages
 * reported as usual. A refusal (wrong password, no such database number) is a StartupError.
 */
export async function openRedis(config: Config, options: WaitOptions): Promise<Redis> {
  const redis = await untilUp(
    'redis',
    // No log on the attempts' clients: each failure is logged once, here.
    () => connectRedis(config.redis),
    (error) => !isRedisRefusal(error),
    secretsOf(config),
    options,
  );
  return reportRedisTrouble(redis, options.log, 'commands');
}

async function untilUp<T>(
  dependency: ReadyDependency,
  attempt: () => Promise<T>,
  isTransient: (error: unknown) => boolean,
  secrets: string[],
  { log, signal }: WaitOptions,
): Promise<T> {
  for (let failures = 0; ; ) {
    signal.throwIfAborted();
    try {
      const value = await attempt();
      if (failures > 0) log.info({ dependency, attempts: failures + 1 }, `${dependency} reachable; starting`);
      return value;
    } catch (error) {
      const reason = redact(errorText(error), secrets);
      if (!isTransient(error)) {
        const { variable, name } = NAMED[dependency];
        throw new StartupError(dependency, `${variable}: ${name} refused to start with it: ${reason}`);
      }
      failures += 1;
      const retryInMs = startRetryDelayMs(failures);
      log.warn(
        { dependency, attempt: failures, retryInMs, reason },
        `${dependency} unreachable; waiting for it`,
      );
      await sleep(retryInMs, undefined, { signal });
    }
  }
}

/** The error and its causes' messages: driver errors often say what happened only in the cause. */
function errorText(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error; e !== undefined && parts.length < 3; ) {
    if (!(e instanceof Error)) {
      parts.push(String(e));
      break;
    }
    if (!parts.includes(e.message)) parts.push(e.message);
    e = e.cause;
  }
  return parts.join(': ');
}

/** Passwords of the configured URLs: a driver message must not carry one into a log line. */
function secretsOf(config: Config): string[] {
  const secrets = new Set<string>();
  for (const url of [config.store.url, config.redis.url]) {
    if (!URL.canParse(url)) continue;
    const { password } = new URL(url);
    if (password) {
      secrets.add(password);
      secrets.add(decodeURIComponent(password));
    }
  }
  if (config.redis.topology.kind === 'sentinel' && config.redis.topology.sentinelPassword) {
    secrets.add(config.redis.topology.sentinelPassword);
  }
  return [...secrets];
}

function redact(text: string, secrets: string[]): string {
  return secrets.reduce((out, secret) => out.replaceAll(secret, '[redacted]'), text);
}
