import { ERROR_CATALOGUE } from '@dbconn/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONNECTIONS_PATH as P } from '../src/rest/connections.rest.js';
import { createSeed, type Harness, startApi } from './harness.js';

/**
 * docs/contract.md §4: "No input, however malformed, yields a 500." Thousands of requests built from a fixed
 * seed — odd JSON values in every field, broken bodies, wrong content types, bad headers and query
 * strings — sent to every REST route and the tRPC procedures that take input. None may answer 500,
 * every REST error must be a problem+json body with a catalogue code, and every tRPC error must carry
 * a catalogue code other than INTERNAL in `error.data.code`.
 */

/** A small deterministic generator (the same requests on every run, so a failure reproduces). */
function generator(seed: number) {
  let state = seed;
  const next = () => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state / 0x7fffffff;
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  return { next, pick };
}

const ODD_VALUES: readonly unknown[] = [
  null,
  true,
  0,
  -1,
  1.5,
  1e308,
  '',
  ' ',
  'a',
  'x'.repeat(300),
  '\u0000',
  '\ud800',
  '💥',
  '__proto__',
  'constructor',
  [],
  [1],
  {},
  { a: 1 },
  { mode: 'require' },
  { mode: 5 },
  { mode: 'verify-full', ca: 5 },
  '1',
  '65536',
  'NaN',
  'POSTGRESQL',
  'postgresql',
  'require',
  'db.example.com',
  5432,
  '2026-01-01',
  '2026-13-45',
  '01890000-0000-7000-8000-000000000000',
  'not-a-uuid',
];
const FIELDS = [
  'configName',
  'type',
  'host',
  'port',
  'databaseName',
  'userName',
  'password',
  'schema',
  'ssl',
  'metadata',
  'id',
  'productName',
  'mappedFields',
  'extra',
  '__proto__',
  'constructor',
];
const RAW_BODIES = ['', '{', 'null', '[]', '"x"', '1', '{"a":', '\u0000', '{"__proto__":{"a":1}}'];
const QUERY_KEYS = [
  'page',
  'limit',
  'sortOrder',
  'type',
  'status',
  'startDate',
  'endDate',
  'metadata.team',
  'metadata.',
  'metadata',
  'productName',
  'input',
  '__proto__',
];
const VALID = {
  configName: 'fuzz-valid',
  type: 'POSTGRESQL',
  host: 'db.example.com',
  port: 5432,
  databaseName: 'd',
  userName: 'u',
  password: 'p',
};

/** encodeURIComponent throws on a lone surrogate: send its UTF-8 bytes as they are, as a client might. */
const encode = (value: string) => {
  try {
    return encodeURIComponent(value);
  } catch {
    return '%ED%A0%80';
  }
};

describe('malformed input never answers 500', () => {
  let h: Harness;
  let id: string;
  beforeAll(async () => {
    // No worker: interactive routes end in 504 WORKER_TIMEOUT quickly, which is an honest answer.
    h = await startApi({ INTERACTIVE_TIMEOUT_MS: '200', LOG_LEVEL: 'error' });
    id = (await createSeed(h)).body.id;
  });
  afterAll(async () => {
    await h?.close();
  });

  it('2,000 generated requests across every door', async () => {
    const { next, pick } = generator(20261128);
    const value = (depth = 0): unknown => {
      const r = next();
      if (r < 0.6 || depth > 2) return pick(ODD_VALUES);
      if (r < 0.8) return Array.from({ length: Math.floor(next() * 3) }, () => value(depth + 1));
      return Object.fromEntries(
        Array.from({ length: Math.floor(next() * 4) }, () => [pick(FIELDS), value(depth + 1)]),
      );
    };
    const body = (): unknown => {
      if (next() < 0.1) return value();
      const out: Record<string, unknown> = { ...VALID };
      for (let i = 0; i < 1 + Math.floor(next() * 3); i++) {
        const field = pick(FIELDS);
        if (next() < 0.3) delete out[field];
        else out[field] = value();
      }
      return out;
    };
    const routes: [method: string, path: string][] = [
      ['POST', P],
      ['GET', P],
      ['GET', `${P}/:id`],
      ['PATCH', `${P}/:id`],
      ['DELETE', `${P}/:id`],
      ['POST', `${P}/:id/test`],
      ['POST', `${P}/test`],
      ['GET', `${P}/:id/schema`],
      ['POST', `${P}/validate-schema`],
      ['GET', `${P}/unassigned`],
      ['POST', `${P}/:id/assign`],
      ['POST', '/trpc/connections.create'],
      ['POST', '/trpc/connections.update'],
      ['POST', '/trpc/connections.testSettings'],
      ['POST', '/trpc/connections.validateSchema'],
      ['GET', '/trpc/connections.list'],
      ['GET', '/trpc/connections.get'],
    ];

    const failures: string[] = [];
    for (let i = 0; i < 2000; i++) {
      const [method, route] = pick(routes);
      // DELETE only ids that do not exist, so the seed connection stays for the other routes.
      const target = method === 'DELETE' ? pick(['nope', '01890000-0000-7000-8000-000000000000']) : id;
      let path = route.replace(':id', next() < 0.8 ? target : pick(['nope', '%00', '..', '%ZZ']));
      const headers: Record<string, string> = {};
      if (next() < 0.8) {
        headers['content-type'] = pick([
          'application/json',
          'application/json; charset=utf-8',
          'text/plain',
          'application/x-www-form-urlencoded',
          '',
        ]);
      }
      if (next() < 0.5)
        headers['x-product-name'] = pick(['my-product', 'bad name', '', 'x'.repeat(200), ',']);
      if (next() < 0.2) headers['if-match'] = pick(['"1"', '1', 'W/"1"', '*', 'abc', '"99999999999"', '']);
      let payload: string | undefined;
      if (method === 'GET') {
        const query = Array.from(
          { length: Math.floor(next() * 4) },
          () => `${encode(pick(QUERY_KEYS))}=${encode(String(pick(ODD_VALUES)))}`,
        );
        if (path.startsWith('/trpc') && next() < 0.7)
          query.push(`input=${encode(JSON.stringify(value()) ?? '')}`);
        if (query.length > 0) path += `?${query.join('&')}`;
      } else if (next() < 0.2) {
        payload = pick(RAW_BODIES);
      } else {
        const generated = path.includes('validate') ? { mappedFields: value() } : body();
        payload = JSON.stringify(
          path.includes('connections.update') ? { ...(generated as object), id } : generated,
        );
      }

      const res = await fetch(`${h.url}${path}`, { method, headers, body: payload });
      const text = await res.text();
      const request = `${method} ${path} ${JSON.stringify(headers)} ${payload ?? ''}`;
      if (res.status === 500) failures.push(`${request} -> 500 ${text}`);
      if (res.status >= 400 && path.startsWith('/trpc')) {
        const code = (JSON.parse(text) as { error?: { data?: { code?: string } } }).error?.data?.code;
        if (!code || !(code in ERROR_CATALOGUE) || code === 'INTERNAL') {
          failures.push(`${request} -> ${res.status} without a catalogue code: ${text}`);
        }
      }
      if (res.status >= 400 && !path.startsWith('/trpc')) {
        const isProblem = res.headers.get('content-type')?.startsWith('application/problem+json');
        if (!isProblem || typeof JSON.parse(text).code !== 'string') {
          failures.push(`${request} -> ${res.status} without a problem body: ${text}`);
        }
      }
    }
    expect(failures.slice(0, 5)).toEqual([]);
  });
});
