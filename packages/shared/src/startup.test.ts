import { describe, expect, it } from 'vitest';
import { START_RETRY, startRetryDelayMs } from './startup.js';

describe('startRetryDelayMs', () => {
  it('doubles from the first delay up to the cap, drawn between half and all of it', () => {
    for (let failures = 1; failures <= 12; failures++) {
      const ceiling = Math.min(START_RETRY.maxDelayMs, START_RETRY.firstDelayMs * 2 ** (failures - 1));
      expect(startRetryDelayMs(failures, () => 0)).toBe(ceiling / 2);
      expect(startRetryDelayMs(failures, () => 0.999_999)).toBe(ceiling);
    }
    expect(startRetryDelayMs(1, () => 1)).toBe(START_RETRY.firstDelayMs);
    expect(startRetryDelayMs(50, () => 1)).toBe(START_RETRY.maxDelayMs);
  });

  it('spreads processes that failed together (jitter), and never waits past the cap', () => {
    const delays = Array.from({ length: 200 }, () => startRetryDelayMs(10));
    expect(new Set(delays).size).toBeGreaterThan(50);
    expect(Math.max(...delays)).toBeLessThanOrEqual(START_RETRY.maxDelayMs);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(START_RETRY.maxDelayMs / 2);
  });
});
