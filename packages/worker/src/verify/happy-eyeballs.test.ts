import { describe, expect, it } from 'vitest';
import { interleaveFamilies } from './network.js';

describe('interleaveFamilies (RFC 8305 §4)', () => {
  it('starts with the family of the first answer and alternates, each family in resolver order', () => {
    expect(
      interleaveFamilies(['2001:db8::1', '2001:db8::2', '2001:db8::3', '192.0.2.1', '192.0.2.2']),
    ).toEqual(['2001:db8::1', '192.0.2.1', '2001:db8::2', '192.0.2.2', '2001:db8::3']);
    expect(interleaveFamilies(['192.0.2.1', '192.0.2.2', '2001:db8::1'])).toEqual([
      '192.0.2.1',
      '2001:db8::1',
      '192.0.2.2',
    ]);
  });

  it('keeps a single family as it is, and every address exactly once', () => {
    const addresses = ['10.0.0.2', '10.0.0.1', '10.0.0.3'];
    expect(interleaveFamilies(addresses)).toEqual(addresses);
    expect(interleaveFamilies([])).toEqual([]);
  });
});
