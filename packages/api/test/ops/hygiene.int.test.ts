import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../examples/typed-client.js';
import { createSeed, type Harness, http, type Reply, startApi } from '../harness.js';

/**
 * Issue 10 item 6: every answer says not to sniff its type and not to store it, and carries the
 * request id — the caller's when it is a plain token, else one the server makes — in the
 * `X-Request-Id` header and in problem bodies.
 */

const PATH = '/v1/management/connections';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('headers on every answer', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startApi();
  });
  afterAll(async () => {
    await h?.close();
  });

  const expectHygiene = (res: Reply, what: string) => {
    expect(res.headers.get('x-content-type-options'), what).toBe('nosniff');
    expect(res.headers.get('cache-control'), what).toBe('no-store');
    expect(res.headers.get('x-request-id'), what).toMatch(/\S/);
  };

  it('success, errors, operations routes, tRPC and a URL that does not decode', async () => {
    const created = await createSeed(h, { configName: 'hygiene-one' });
    expectHygiene(created, 'create');
    expectHygiene(await http(h, 'GET', `${PATH}/${created.body.id}`), 'get');
    expectHygiene(await http(h, 'GET', PATH), 'list');
    expectHygiene(await http(h, 'GET', `${PATH}/not-a-uuid`), '400');
    expectHygiene(await http(h, 'GET', '/no/such/route'), '404');
    expectHygiene(await http(h, 'GET', `${PATH}/%ZZ`), 'undecodable URL');
    expectHygiene(await http(h, 'GET', '/health'), 'health');
    expectHygiene(await http(h, 'GET', '/openapi.json'), 'openapi');
    expectHygiene(await http(h, 'GET', '/trpc/connections.list?input=%7B%7D'), 'tRPC');
  });

  it('a problem body carries the same request id as the header; a valid given id is kept', async () => {
    const generated = await http(h, 'GET', `${PATH}/not-a-uuid`);
    expect(generated.status).toBe(400);
    expect(generated.headers.get('x-request-id')).toMatch(UUID);
    expect(generated.body.requestId).toBe(generated.headers.get('x-request-id'));

    const given = await http(h, 'GET', `${PATH}/01890000-0000-7000-8000-000000000000`, {
      headers: { 'x-request-id': 'trace-4f2a_9' },
    });
    expect(given.status).toBe(404);
    expect(given.headers.get('x-request-id')).toBe('trace-4f2a_9');
    expect(given.body.requestId).toBe('trace-4f2a_9');
  });

  it.each([
    ['too long', 'x'.repeat(65)],
    ['with spaces and punctuation', 'a b;c=d'],
    ['with markup', '<script>x</script>'],
  ])('a malformed X-Request-Id (%s) is replaced by one the server makes', async (_, bad) => {
    const res = await http(h, 'GET', `${PATH}/not-a-uuid`, { headers: { 'x-request-id': bad } });
    expect(res.headers.get('x-request-id')).toMatch(UUID);
    expect(res.body.requestId).toBe(res.headers.get('x-request-id'));
    expect(JSON.stringify(res.body)).not.toContain(bad);
  });

  it('tRPC errors carry the request id in error.data', async () => {
    const api = connect(h.url);
    try {
      await api.connections.get.query({ id: 'nope' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(TRPCClientError);
      expect((err as TRPCClientError<never>).data).toMatchObject({
        code: 'VALIDATION_FAILED',
        requestId: expect.stringMatching(UUID),
      });
    }
  });
});
