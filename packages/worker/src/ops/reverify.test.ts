import { createLogger, loadConfig } from '@dbconn/shared';
import { describe, expect, it } from 'vitest';
import { MAX_TICK_MS, periodicJobId, reverifyDue, reverifyTickMs } from './reverify.js';

describe('periodic re-verification', () => {
  it('ticks every tenth of the interval, at most every five minutes', () => {
    expect(reverifyTickMs(60_000)).toBe(6_000);
    expect(reverifyTickMs(1_800_000)).toBe(180_000);
    expect(reverifyTickMs(21_600_000)).toBe(MAX_TICK_MS);
    expect(MAX_TICK_MS).toBe(300_000);
  });

  it('names a periodic job by connection, dialled version and last verification, without ":"', () => {
    const id = '0194f1a2-0000-7000-8000-000000000001';
    const lastVerifiedAt = new Date('2025-01-01T00:00:00.000Z');
    const jobId = periodicJobId({ id, dialVersion: 3, lastVerifiedAt });
    expect(periodicJobId({ id, dialVersion: 3, lastVerifiedAt: new Date(lastVerifiedAt) })).toBe(jobId);
    expect(jobId).not.toContain(':');
    expect(periodicJobId({ id, dialVersion: 4, lastVerifiedAt })).not.toBe(jobId);
    expect(
      periodicJobId({ id, dialVersion: 3, lastVerifiedAt: new Date(lastVerifiedAt.getTime() + 1) }),
    ).not.toBe(jobId);
  });

  it('does nothing, without reading the store, when turned off', async () => {
    const config = loadConfig({ NODE_ENV: 'test', REVERIFY_INTERVAL_MS: '0' });
    const store = {
      findDueForReverification: async () => {
        throw new Error('the store must not be read when re-verification is off');
      },
    };
    const report = await reverifyDue({
      store,
      queue: {} as never,
      config,
      log: createLogger({ level: 'silent', name: 'test' }),
    });
    expect(report).toEqual({ due: 0, enqueued: 0, live: 0 });
  });
});
