import { connect as connectSocket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONNECTIONS_PATH as P } from '../src/rest/connections.rest.js';
import { createSeed, type Harness, http, type Reply, seedBody, startApi } from './harness.js';

/**
 * Issue 10, item 4: a NUL or a lone surrogate in a metadata key or value, a list filter or a
 * validate-schema name reached PostgreSQL and answered 500 (on REST and tRPC); a lone surrogate in
 * configName was stored as U+FFFD. Each is a 400 naming the field now, and nothing is written.
 */

const NUL = '\u0000';
const LONE = '\ud800';

describe('NUL and lone surrogates are 400 naming the field, on both doors, with no write', () => {
  let h: Harness;
  let id: string;
  beforeAll(async () => {
    // No worker: a test that got through would end in 504, never in a 400.
    h = await startApi({ INTERACTIVE_TIMEOUT_MS: '200' });
    id = (await createSeed(h)).body.id;
  });
  afterAll(async () => {
    await h?.close();
  });

  const dump = async () => JSON.stringify(await h.rawRows());
  const trpcBody = (res: Reply) => res.body?.error?.data;

  /** The answer names `field` (and only fields starting with it), and the store is as it was. */
  async function expectRefused(send: () => Promise<Reply>, field: string) {
    const before = await dump();
    const res = await send();
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    const errors: { field: string }[] = res.body?.errors ?? trpcBody(res)?.errors;
    expect(res.body?.code ?? trpcBody(res)?.code).toBe('VALIDATION_FAILED');
    expect(errors.map((e) => e.field)).toContain(field);
    expect(await dump()).toBe(before);
  }

  for (const [label, bad] of [
    ['NUL', NUL],
    ['a lone surrogate', LONE],
  ] as const) {
    it(`${label} in a metadata key or value: create, update and try-before-save, REST and tRPC`, async () => {
      const header = { 'x-product-name': 'my-product' };
      for (const metadata of [{ team: `a${bad}` }, { [`k${bad}`]: 'v' }]) {
        const field = Object.keys(metadata)[0] === 'team' ? 'metadata.team' : 'metadata';
        const body = { ...seedBody(), configName: 'other-name', metadata };
        await expectRefused(() => http(h, 'POST', P, { body, headers: header }), field);
        await expectRefused(() => http(h, 'PATCH', `${P}/${id}`, { body: { metadata } }), field);
        await expectRefused(() => http(h, 'POST', `${P}/test`, { body: { id, metadata } }), field);
        await expectRefused(() => http(h, 'POST', '/trpc/connections.create', { body }), field);
        await expectRefused(
          () => http(h, 'POST', '/trpc/connections.update', { body: { id, metadata } }),
          field,
        );
        await expectRefused(
          () => http(h, 'POST', '/trpc/connections.testSettings', { body: { id, metadata } }),
          field,
        );
      }
    });

    it(`${label} in a list filter: REST query string and tRPC input`, async () => {
      const escaped = bad === NUL ? '%00' : '%ED%A0%80';
      for (const path of [P, `${P}/unassigned`]) {
        for (const query of [`metadata.team=x${escaped}`, `metadata.x${escaped}=1`]) {
          const res = await http(h, 'GET', `${path}?${query}`);
          expect(res.status, JSON.stringify(res.body)).toBe(400);
          if (bad === NUL) {
            expect(res.body.code).toBe('VALIDATION_FAILED');
            expect(res.body.errors.map((e: { field: string }) => e.field)[0]).toMatch(/^metadata/);
          } else {
            // %ED%A0%80 is not UTF-8 (a surrogate has no UTF-8 form): the URL itself does not decode
            expect(res.body.code).toBe('MALFORMED_REQUEST');
          }
        }
      }
      await expectRefused(
        () => http(h, 'GET', `${P}?metadata.team=${encodeURIComponent(`x${NUL}`)}`),
        'metadata.team',
      );
      for (const metadata of [{ team: `x${bad}` }, { [`k${bad}`]: 'x' }]) {
        const input = encodeURIComponent(JSON.stringify({ metadata }));
        await expectRefused(
          () => http(h, 'GET', `/trpc/connections.list?input=${input}`),
          'team' in metadata ? 'metadata.team' : 'metadata',
        );
      }
    });

    it(`${label} in a validate-schema name: connection, table and field, REST and tRPC`, async () => {
      const cases: [Record<string, unknown>, string][] = [
        [{ [`production-db${bad}`]: { t: ['f'] } }, 'mappedFields'],
        [{ 'production-db': { [`t${bad}`]: ['f'] } }, 'mappedFields.production-db'],
        [{ 'production-db': { t: [`f${bad}`] } }, 'mappedFields.production-db.t.0'],
      ];
      for (const [mappedFields, field] of cases) {
        await expectRefused(() => http(h, 'POST', `${P}/validate-schema`, { body: { mappedFields } }), field);
        await expectRefused(
          () => http(h, 'POST', '/trpc/connections.validateSchema', { body: { mappedFields } }),
          field,
        );
      }
    });
  }

  it('a lone surrogate in configName is refused, not stored as U+FFFD', async () => {
    await expectRefused(() => createSeed(h, { configName: `prod-${LONE}-db` }), 'configName');
    await expectRefused(
      () => http(h, 'PATCH', `${P}/${id}`, { body: { configName: `x${LONE}yz` } }),
      'configName',
    );
    expect((await h.rawRows()).some((row) => String(row.config_name).includes('\ufffd'))).toBe(false);
  });

  it('configName, databaseName, userName and metadata refuse bidi overrides, zero-width spaces and separators', async () => {
    for (const bad of ['\u202e', '\u200b', '\u2028', '\u2029', '\ufeff']) {
      for (const field of ['configName', 'databaseName', 'userName']) {
        await expectRefused(() => createSeed(h, { configName: 'look-alike', [field]: `ab${bad}c` }), field);
      }
      await expectRefused(
        () => createSeed(h, { configName: 'look-alike', metadata: { team: `a${bad}` } }),
        'metadata.team',
      );
      await expectRefused(
        () => http(h, 'PATCH', `${P}/${id}`, { body: { configName: `pro${bad}duction-db` } }),
        'configName',
      );
    }
  });
});

describe("Node's own refusals answer problem+json", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startApi({ API_REQUEST_TIMEOUT_MS: '300' });
  });
  afterAll(async () => {
    await h?.close();
  });

  /** Writes raw bytes to the server and reads everything it answers until it closes. */
  const raw = (request: string) =>
    new Promise<string>((resolve, reject) => {
      const { port } = new URL(h.url);
      const socket = connectSocket(Number(port), '127.0.0.1');
      let answer = '';
      socket.setEncoding('latin1');
      socket.on('data', (chunk) => {
        answer += chunk;
      });
      socket.on('error', reject);
      socket.on('close', () => resolve(answer));
      socket.write(request);
    });

  const parse = (answer: string) => {
    const [head = '', body = ''] = answer.split('\r\n\r\n');
    return { statusLine: head.split('\r\n')[0], head: head.toLowerCase(), body: JSON.parse(body) };
  };

  it('headers over the limit: 431 HEADERS_TOO_LARGE', async () => {
    const res = await fetch(`${h.url}${P}`, { headers: { 'x-filler': 'a'.repeat(20_000) } });
    expect(res.status).toBe(431);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(await res.json()).toMatchObject({
      status: 431,
      code: 'HEADERS_TOO_LARGE',
      type: 'urn:dbconn:error:headers-too-large',
    });
  });

  it('a request not sent in time: 408 REQUEST_TIMEOUT', async () => {
    const text = await raw(
      `POST ${P} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n{`,
    );
    const answer = parse(text);
    expect(answer.statusLine).toBe('HTTP/1.1 408 Request Timeout');
    expect(answer.head).toContain('content-type: application/problem+json');
    expect(answer.body).toMatchObject({ status: 408, code: 'REQUEST_TIMEOUT' });
  });

  it('bytes that are not HTTP (a NUL in a header): 400 MALFORMED_REQUEST', async () => {
    const answer = parse(await raw(`GET ${P} HTTP/1.1\r\nHost: x\r\nX-Product-Name: a\u0000b\r\n\r\n`));
    expect(answer.statusLine).toBe('HTTP/1.1 400 Bad Request');
    expect(answer.body).toMatchObject({ status: 400, code: 'MALFORMED_REQUEST' });
  });
});
