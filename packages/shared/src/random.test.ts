import { describe, expect, it } from 'vitest';
import { randomBytesPooled } from './random.js';

describe('randomBytesPooled', () => {
  it('hands out the asked size, never the same bytes twice, across refills of the pool', () => {
    // 1,000 draws of 16 bytes cross the 4 KiB pool about four times.
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const bytes = randomBytesPooled(16);
      expect(bytes).toHaveLength(16);
      seen.add(bytes.toString('hex'));
    }
    expect(seen.size).toBe(1000);
  });

  it('gives the caller its own copy: writing into it changes no later draw', () => {
    const first = randomBytesPooled(12);
    first.fill(0);
    const next = randomBytesPooled(12);
    expect(next.equals(Buffer.alloc(12))).toBe(false);
  });

  it('serves large sizes directly', () => {
    const big = randomBytesPooled(10_000);
    expect(big).toHaveLength(10_000);
    expect(big.equals(Buffer.alloc(10_000))).toBe(false);
  });
});
