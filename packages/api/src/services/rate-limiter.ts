import { AppError, RETRY_AFTER_SECONDS, type Redis } from '@dbconn/shared';

export interface Limit {
  /** What is counted, e.g. `connection:<id>`. */
  key: string;
  max: number;
  /** How much of the budget the request takes (default 1), e.g. one per schema discovery it runs. */
  cost?: number;
}

/**
 * Checks every counter, then takes from all of them or from none: a refused request costs nothing,
 * so it cannot use up a budget it was not let through for (e.g. the organization's, by requests
 * refused for one connection).
 *
 * KEYS: the counters. ARGV[1]: the window in seconds; ARGV[1 + i]: the max of KEYS[i];
 * ARGV[1 + #KEYS + i]: what the request takes from KEYS[i].
 * Returns {0, milliseconds left of KEYS[1]} when taken, else {i, ttl}: the first counter that refused and its seconds left.
 */
const CONSUME_SCRIPT = `
local window = tonumber(ARGV[1])
local n = #KEYS
for i = 1, n do
  local count = tonumber(redis.call('GET', KEYS[i]) or '0')
  if count + tonumber(ARGV[1 + n + i]) > tonumber(ARGV[1 + i]) then
    local ttl = redis.call('TTL', KEYS[i])
    if ttl == -1 then
      redis.call('EXPIRE', KEYS[i], window)
      ttl = window
    elseif ttl < 0 then
      ttl = window
    end
    return {i, ttl}
  end
end
for i = 1, n do
  redis.call('INCRBY', KEYS[i], ARGV[1 + n + i])
  redis.call('EXPIRE', KEYS[i], window, 'NX')
end
return {0, redis.call('PTTL', KEYS[1])}
`;

/** Gives back what a request took (KEYS[i] by ARGV[i]), never below zero, never reviving an expired counter. */
const REFUND_SCRIPT = `
for i = 1, #KEYS do
  local count = tonumber(redis.call('GET', KEYS[i]) or '0')
  if count > 0 then
    redis.call('DECRBY', KEYS[i], math.min(count, tonumber(ARGV[i])))
  end
end
return 0
`;

/** Most units one lease takes (consumeLeased): what a process may hold unused at a window's end. */
const LEASE_MAX = 16;

const COMMAND = 'dbconnRateLimitConsume';
const REFUND = 'dbconnRateLimitRefund';

type WithConsume = Redis & {
  [COMMAND](numKeys: number, ...keysAndArgs: (string | number)[]): Promise<[number, number]>;
  [REFUND](numKeys: number, ...keysAndArgs: (string | number)[]): Promise<number>;
};

/** The Redis counter of one limit (`scope` test or schema; `key` connection:<id> or organization:<id>). */
export const rateLimitKey = (prefix: string, scope: string, key: string) =>
  `${prefix}:ratelimit:${scope}:${key}`;

/**
 * Fixed-window counters in Redis, shared by every API replica (docs/contract.md §8). All limits of a request
 * are checked and taken in one atomic script; the first one that would go over its max answers
 * 429 with Retry-After (the seconds left in its window), and then nothing is taken.
 */
export class RateLimiter {
  private readonly redis: WithConsume;
  /** Units of a counter this process took from Redis and has not handed out yet, by Redis key. */
  private readonly leases = new Map<string, { units: number; until: number }>();
  private readonly leasing = new Map<string, Promise<void>>();

  constructor(
    redis: Redis,
    private readonly prefix: string,
    private readonly windowSeconds: number,
  ) {
    // EVALSHA, with EVAL when Redis does not have the script yet (e.g. after a restart).
    redis.defineCommand(COMMAND, { lua: CONSUME_SCRIPT });
    redis.defineCommand(REFUND, { lua: REFUND_SCRIPT });
    this.redis = redis as WithConsume;
  }

  async consume(scope: string, limits: Limit[]): Promise<void> {
    await this.take(scope, limits);
  }

  /**
   * `consume` of one unit of a single limit, with the budget taken from Redis in small leases
   * (up to LEASE_MAX units, a hundredth of the max): most requests then need no Redis round trip
   * (bench/README.md, P1). A lease never outlives the window it was taken in, so across all API
   * processes no more than `max` is ever let through in a window; what a process leased and did not
   * use is lost with the window (each process holds fewer than a lease at a time). Only one lease
   * per key is asked for at a time; the others wait for it. A max under 200 leases one at a time,
   * as `consume` does.
   */
  async consumeLeased(scope: string, limit: Limit): Promise<void> {
    const key = rateLimitKey(this.prefix, scope, limit.key);
    for (;;) {
      const held = this.leases.get(key);
      if (held && held.units > 0 && Date.now() < held.until) {
        held.units--;
        return;
      }
      const pending = this.leasing.get(key);
      if (pending) {
        await pending;
        continue;
      }
      // The one who asks for a lease takes its own unit from it at once (even if the window ends now).
      const lease = this.lease(scope, limit).finally(() => this.leasing.delete(key));
      this.leasing.set(key, lease);
      await lease;
      return;
    }
  }

  /** Gives back what `consumeLeased` took: to the lease while its window lasts, else to Redis. */
  async refundLeased(scope: string, limit: Limit): Promise<void> {
    const held = this.leases.get(rateLimitKey(this.prefix, scope, limit.key));
    if (held && Date.now() < held.until) {
      held.units++;
      return;
    }
    await this.refund(scope, [limit]);
  }

  private async lease(scope: string, limit: Limit): Promise<void> {
    const key = rateLimitKey(this.prefix, scope, limit.key);
    const size = Math.max(1, Math.min(LEASE_MAX, Math.floor(limit.max / 100)));
    const asked = Date.now();
    let units = size;
    let leftMs: number;
    try {
      leftMs = await this.take(scope, [{ ...limit, cost: size }]);
    } catch (error) {
      // Near the end of the budget: what is left, one at a time.
      if (size === 1 || !(error instanceof AppError) || error.code !== 'RATE_LIMITED') throw error;
      units = 1;
      leftMs = await this.take(scope, [{ ...limit, cost: 1 }]);
    }
    // Measured from before the answer came back: the lease ends no later than the window.
    this.leases.set(key, { units: units - 1, until: asked + Math.max(0, leftMs) });
  }

  /** Takes from every counter or none; resolves to the milliseconds left in the first counter's window. */
  private async take(scope: string, limits: Limit[]): Promise<number> {
    const entries = merge(limits);
    if (entries.length === 0) return 0;
    let reply: [number, number];
    try {
      reply = await this.redis[COMMAND](
        entries.length,
        ...entries.map(({ limit }) => rateLimitKey(this.prefix, scope, limit.key)),
        this.windowSeconds,
        ...entries.map(({ limit }) => limit.max),
        ...entries.map(({ cost }) => cost),
      );
    } catch (cause) {
      throw new AppError('UNAVAILABLE', 'The rate limiter is unavailable', {
        retryAfter: RETRY_AFTER_SECONDS,
        cause,
      });
    }
    const refused = entries[Number(reply?.[0] ?? 0) - 1];
    if (!refused) return Number(reply?.[1] ?? 0);
    const ttl = Number(reply?.[1] ?? this.windowSeconds);
    throw new AppError(
      'RATE_LIMITED',
      `Too many ${scope} requests for this ${refused.limit.key.split(':')[0]}; retry later`,
      { retryAfter: Math.max(1, ttl) },
    );
  }

  /** Gives back what `consume` took for a request that, in the end, did nothing (e.g. a 409). */
  async refund(scope: string, limits: Limit[]): Promise<void> {
    const entries = merge(limits);
    if (entries.length === 0) return;
    await this.redis[REFUND](
      entries.length,
      ...entries.map(({ limit }) => rateLimitKey(this.prefix, scope, limit.key)),
      ...entries.map(({ cost }) => cost),
    );
  }

  /**
   * Refuses (429) once a counter has reached its max, without taking from it: for counting
   * failures (wrong credentials), where only a failure takes, with `consume`.
   */
  async assertBelow(scope: string, limit: Limit): Promise<void> {
    const key = rateLimitKey(this.prefix, scope, limit.key);
    let count: string | null;
    let ttl: number;
    try {
      [count, ttl] = await Promise.all([this.redis.get(key), this.redis.ttl(key)]);
    } catch (cause) {
      throw new AppError('UNAVAILABLE', 'The rate limiter is unavailable', {
        retryAfter: RETRY_AFTER_SECONDS,
        cause,
      });
    }
    if (Number(count ?? 0) < limit.max) return;
    throw new AppError('RATE_LIMITED', `Too many ${scope} attempts from this address; retry later`, {
      retryAfter: Math.max(1, ttl > 0 ? ttl : this.windowSeconds),
    });
  }
}

/** One counter per key, however often a request names it, with what the request takes from each. */
function merge(limits: Limit[]): { limit: Limit; cost: number }[] {
  const merged = new Map<string, { limit: Limit; cost: number }>();
  for (const limit of limits) {
    const entry = merged.get(limit.key);
    if (entry) entry.cost += limit.cost ?? 1;
    else merged.set(limit.key, { limit, cost: limit.cost ?? 1 });
  }
  return [...merged.values()];
}
