import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../errors.js';
import { STAGE_NAMES, VERIFICATION_CODE_NAMES } from './verification-codes.js';

/** docs/contract.md describes the contract as the code implements it: it must name every code. */
const contract = readFileSync(new URL('../../../../docs/contract.md', import.meta.url), 'utf8');

describe('docs/contract.md keeps up with the catalogues', () => {
  it.each(VERIFICATION_CODE_NAMES)('names the verification code %s', (code) => {
    expect(contract).toContain(`\`${code}\``);
  });

  it.each(ERROR_CODES)('names the error code %s', (code) => {
    expect(contract).toContain(`\`${code}\``);
  });

  it.each(STAGE_NAMES)('names the stage %s', (stage) => {
    expect(contract).toContain(`| \`${stage}\` |`);
  });

  it('keeps its section numbers 0 to 12, which code comments cite', () => {
    const sections = [...contract.matchAll(/^## (\d+)\. /gm)].map((m) => Number(m[1]));
    expect(sections).toEqual([...Array(13).keys()]);
  });
});
