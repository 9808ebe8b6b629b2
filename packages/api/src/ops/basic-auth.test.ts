import { describe, expect, it } from 'vitest';
import { hasValidBasicCredentials, parseBasicAuthorization } from './basic-auth.js';

const basic = (pair: string) => `Basic ${Buffer.from(pair).toString('base64')}`;
const expected = { user: 'ops', password: 'p:a ss wörd' };

describe('HTTP Basic credentials', () => {
  it('splits on the first colon only (passwords may contain colons)', () => {
    expect(parseBasicAuthorization(basic('ops:p:a ss wörd'))).toEqual(expected);
  });

  it('accepts the right pair, whatever the scheme letter case', () => {
    expect(hasValidBasicCredentials(basic('ops:p:a ss wörd'), expected)).toBe(true);
    expect(hasValidBasicCredentials(basic('ops:p:a ss wörd').replace('Basic', 'basic'), expected)).toBe(true);
  });

  it.each([
    ['no header', undefined],
    ['a wrong password', basic('ops:nope')],
    ['a wrong user', basic('opz:p:a ss wörd')],
    ['a prefix of the password', basic('ops:p:a ss')],
    ['no colon', basic('ops')],
    ['another scheme', `Bearer ${Buffer.from('ops:p:a ss wörd').toString('base64')}`],
    ['not base64', 'Basic %%%'],
  ])('refuses %s', (_what, header) => {
    expect(hasValidBasicCredentials(header, expected)).toBe(false);
  });

  it('does not accept empty credentials when none were sent', () => {
    expect(hasValidBasicCredentials(undefined, { user: '', password: '' })).toBe(false);
  });
});
