import { AppError, type Redis } from '@dbconn/shared';

export interface Limit {
  /** What is counted, e.g. `connection:<id>`. */
  key: string;
  max: number;
}

/**
 * Fixed-window counters in Redis, shared by every API replica (spec §8). All limits of a request
 * are counted in one round trip; the first one over its max answers 429 with Retry-After.
 */
export class RateLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly windowSeconds: number,
  ) {}

  async consume(scope: string, limits: Limit[]): Promise<void> {
    const multi = this.redis.multi();
    for (const limit of limits) {
      const key = `${this.prefix}:ratelimit:${scope}:${limit.key}`;
      multi.incr(key).expire(key, this.windowSeconds, 'NX').ttl(key);
    }
    let replies: [Error | null, unknown][] | null;
    try {
      replies = await multi.exec();
    } catch (cause) {
      throw new AppError('UNAVAILABLE', 'The rate limiter is unavailable', { retryAfter: 5, cause });
    }
    limits.forEach((limit, i) => {
      const count = Number(replies?.[i * 3]?.[1] ?? 0);
      const ttl = Number(replies?.[i * 3 + 2]?.[1] ?? this.windowSeconds);
      if (count > limit.max) {
        throw new AppError(
          'RATE_LIMITED',
          `Too many ${scope} requests for this ${limit.key.split(':')[0]}; retry later`,
          {
            retryAfter: Math.max(1, ttl),
          },
        );
      }
    });
  }
}
