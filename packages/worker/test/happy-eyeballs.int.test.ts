import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyConnection } from '../src/verify/verify-connection.js';
import { closedPort } from './fixtures/index.js';
import { startUnansweredAddress, type UnansweredAddress } from './fixtures/unanswered.js';
import { dialSettings, stageSummary, verifyOptions } from './helpers/verify.js';

/**
 * The tcp stage shares its budget across every address of a name (RFC 8305), against the
 * machine's PostgreSQL (127.0.0.1:5432, trust) and loopback addresses on which connecting hangs.
 * The name resolves through the injected lookup, so the test chooses its addresses.
 */

const SHARED_POSTGRES_PORT = 5432;
let silent: UnansweredAddress;
let otherSilent: UnansweredAddress;

beforeAll(async () => {
  [silent, otherSilent] = await Promise.all([
    startUnansweredAddress({ port: SHARED_POSTGRES_PORT }),
    startUnansweredAddress({ port: SHARED_POSTGRES_PORT }),
  ]);
});
afterAll(async () => {
  await Promise.all([silent?.stop(), otherSilent?.stop()]);
});

const settings = (port = SHARED_POSTGRES_PORT) =>
  dialSettings({ type: 'POSTGRESQL', host: 'db.multi.test', port, databaseName: 'postgres' });
const resolvingTo = (addresses: string[]) => ({ lookup: async () => addresses });
// A tcp budget far below what a silent first address would need to eat (the stage timeout).
const tightTcp = { timeoutMs: 15_000, stageTimeoutMs: 3_000 };

describe('a name with several addresses', () => {
  it('verifies through the second address when the first is silent, and reports which one answered', async () => {
    const result = await verifyConnection(
      settings(),
      verifyOptions({ ...tightTcp, ...resolvingTo([silent.host, '127.0.0.1']) }),
    );
    expect(result.error).toBeUndefined();
    expect(result.outcome).toBe('passed');
    expect(stageSummary(result).tcp).toBe('ok');
    expect(result.server?.address).toBe('127.0.0.1');
  });

  it('goes on past an address that refuses', async () => {
    // Nothing listens at 127.0.0.2:5432 (the machine's PostgreSQL binds 127.0.0.1 only).
    const result = await verifyConnection(
      settings(),
      verifyOptions({ ...tightTcp, ...resolvingTo(['127.0.0.2', '127.0.0.1']) }),
    );
    expect(result.outcome).toBe('passed');
    expect(result.server?.address).toBe('127.0.0.1');
  });

  it('ends with TCP_TIMEOUT within the one stage budget when every address is silent', async () => {
    const result = await verifyConnection(
      settings(),
      verifyOptions({ ...tightTcp, ...resolvingTo([silent.host, otherSilent.host]) }),
    );
    expect(stageSummary(result)).toMatchObject({ dns: 'ok', tcp: 'failed:TCP_TIMEOUT', auth: 'skipped' });
    expect(result.error?.message).toContain('3000 ms');
  });

  it('reports the refusal when every address refuses', async () => {
    const port = await closedPort();
    const result = await verifyConnection(
      settings(port),
      verifyOptions({ ...tightTcp, ...resolvingTo(['127.0.0.1', '127.0.0.2']) }),
    );
    expect(result.error).toMatchObject({ stage: 'tcp', code: 'TCP_REFUSED' });
  });

  it('still checks every resolved address against the egress policy', async () => {
    const result = await verifyConnection(
      settings(),
      verifyOptions({ ...resolvingTo(['127.0.0.1', '169.254.169.254']) }),
    );
    expect(result.error).toMatchObject({ stage: 'dns', code: 'HOST_FORBIDDEN' });
  });

  it('reports the address of a single-address host too', async () => {
    const result = await verifyConnection(
      dialSettings({ type: 'POSTGRESQL', port: SHARED_POSTGRES_PORT, databaseName: 'postgres' }),
      verifyOptions(),
    );
    expect(result.outcome).toBe('passed');
    expect(result.server?.address).toBe('127.0.0.1');
  });
});
