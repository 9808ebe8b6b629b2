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
 * Returns {0, 0} when taken, else {i, ttl}: the first counter that refused and its seconds left.
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
return {0, 0}
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
    const entries = merge(limits);
    if (entries.length === 0) return;
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
    if (!refused) return;
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
