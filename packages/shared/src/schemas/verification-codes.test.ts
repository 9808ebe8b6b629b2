import { describe, expect, it } from 'vitest';
import {
  type FailureContext,
  isTransientCode,
  isVerificationCode,
  STAGE_NAMES,
  STAGE_TIMEOUT_CODES,
  VERIFICATION_CODE_NAMES,
  VERIFICATION_CODES,
  type VerificationCode,
} from './verification-codes.js';

const context: FailureContext = {
  engine: 'PostgreSQL',
  host: 'db.example.com',
  port: 5432,
  user: 'app_user',
  database: 'sales',
  schema: 'reporting',
  sslMode: 'verify-full',
  stage: 'auth',
  timeoutMs: 5000,
};

const codes = Object.keys(VERIFICATION_CODES) as VerificationCode[];

/**
 * docs/contract.md §6 in executable form: what may be retried is a timeout, anything at the TCP level, or a
 * momentary state of the network or the server. Everything else is permanent.
 */
const MOMENTARY = new Set<VerificationCode>(['DNS_TEMPORARY', 'SERVER_BUSY', 'CONNECTION_LOST', 'ABORTED']);
const isTimeoutOrNetworkOrBusy = (code: VerificationCode) =>
  code.endsWith('_TIMEOUT') || code.startsWith('TCP_') || MOMENTARY.has(code);

describe('the verification code catalogue (docs/contract.md §6)', () => {
  it('retries exactly the timeouts, the TCP failures and the momentary states', () => {
    for (const code of codes) expect(isTransientCode(code), code).toBe(isTimeoutOrNetworkOrBusy(code));
  });

  it('an unknown code is permanent (a typo never becomes a retry loop)', () => {
    expect(isTransientCode('NOPE_TIMEOUTISH')).toBe(false);
    expect(isTransientCode('toString')).toBe(false);
    expect(isVerificationCode('constructor')).toBe(false);
  });

  it('gives every stage a timeout code reported at that stage', () => {
    for (const stage of STAGE_NAMES) {
      const code = STAGE_TIMEOUT_CODES[stage];
      expect(VERIFICATION_CODES[code].stages, stage).toEqual([stage]);
      expect(isTransientCode(code)).toBe(true);
    }
  });

  it('names, for every code, stages in run order and without repeats', () => {
    for (const code of codes) {
      const { stages } = VERIFICATION_CODES[code];
      expect(stages.length, code).toBeGreaterThan(0);
      const order = stages.map((stage) => STAGE_NAMES.indexOf(stage));
      expect(order, code).toEqual([...new Set(order)].sort((a, b) => a - b));
    }
  });

  it('a code named after a stage is reported at that stage only', () => {
    const prefixes = { DNS_: 'dns', TCP_: 'tcp', DATABASE_: 'database', SCHEMA_: 'schema' } as const;
    for (const code of codes) {
      for (const [prefix, stage] of Object.entries(prefixes)) {
        if (code.startsWith(prefix)) expect(VERIFICATION_CODES[code].stages, code).toEqual([stage]);
      }
      if (code.startsWith('TLS_')) expect(VERIFICATION_CODES[code].stages, code).toContain('tls');
      if (code.startsWith('AUTH_')) expect(VERIFICATION_CODES[code].stages, code).toEqual(['auth']);
    }
  });

  it('lists the same codes for z.enum and the OpenAPI document as the catalogue holds', () => {
    expect(new Set(VERIFICATION_CODE_NAMES)).toEqual(new Set(codes));
  });
});

describe('messages and hints', () => {
  it.each(codes)('%s has a message and a hint at every stage it is reported at', (code) => {
    const entry = VERIFICATION_CODES[code];
    for (const stage of entry.stages) {
      const message = entry.message({ ...context, stage });
      const hint = entry.hint({ ...context, stage });
      expect(message.length).toBeGreaterThan(10);
      expect(hint.length).toBeGreaterThan(10);
      expect(`${message} ${hint}`).not.toMatch(/undefined|null|\[object/);
    }
  });

  it('messages of codes about the server name the host it was', () => {
    for (const code of codes) {
      const { stages, message } = VERIFICATION_CODES[code];
      const text = message({ ...context, stage: stages[0] ?? 'dns' });
      if (code.startsWith('TCP_') || code.startsWith('DNS_')) expect(text, code).toContain('db.example.com');
    }
  });

  it('says what failed in the user’s terms', () => {
    expect(VERIFICATION_CODES.AUTH_FAILED.message(context)).toBe(
      'The server refused the password for user app_user — check the password',
    );
    expect(VERIFICATION_CODES.PERMISSION_DENIED.message({ ...context, stage: 'schema' })).toContain(
      'schema reporting',
    );
    expect(VERIFICATION_CODES.PERMISSION_DENIED.message({ ...context, stage: 'database' })).toContain(
      'database sales',
    );
    expect(VERIFICATION_CODES.AUTH_TIMEOUT.message(context)).toContain('5000 ms');
  });
});
