import { randomUUID } from 'node:crypto';
import { connect as connectSocket } from 'node:net';
import { CreateConnectionInputSchema, createInteractiveQueue, QUEUE_NAMES } from '@dbconn/shared';
import { Queue } from 'bullmq';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CONNECTIONS_PATH as P } from '../src/rest/connections.rest.js';
import { WEBHOOKS_PATH } from '../src/rest/webhooks.rest.js';
import { LOCAL_PG } from './e2e/helpers.js';
import { startWorkerProcess, type WorkerProcess } from './e2e/worker-process.js';
import { createSeed, type Harness, seedBody, startApi } from './harness.js';

/**
 * Issue 10, the property proof: for every route and procedure (connections and webhooks, REST and
 * tRPC), generated bodies,
 * headers and query strings — NUL, lone surrogates, format characters (\p{Cf}), line and paragraph
 * separators, deep nesting, numbers no double holds, wrong types, broken JSON and bytes that are not
 * UTF-8 — never answer a 5xx, and an answer of 4xx never writes: every table of the store and the
 * job counts of both queues are the same after it as before.
 *
 * Each case spoils one part of a good request (its body, headers, query string or path id) or none,
 * so most cases get past the parsing into the services. Requests go over a raw socket, byte for
 * byte: fetch would refuse a NUL in a header before sending it. A real worker runs, so the
 * interactive routes answer with a result instead of a 504.
 *
 * The webhook routes run last, so the webhook that exists receives no event (a delivery would
 * write in the background); the webhooks queue is waited for and counted with the others.
 *
 * The seed is fixed and printed; `PROPERTIES_SEED=<n>` replays another run.
 */

const SEED = Number(process.env.PROPERTIES_SEED ?? 20261205);
/** Cases per route: 41 routes × 12 = 492 requests, 10–35 s here (each waits for the queues to settle). */
const RUNS_PER_ROUTE = 12;
/** Stands for the id of a connection that exists when the case runs (one may have been deleted). */
const LIVE_ID = '<live-id>';
/** Stands for the id of a webhook that exists when the case runs. */
const LIVE_WEBHOOK = '<live-webhook>';
/** Stands for a configName no other connection has. */
const UNIQUE_NAME = '<unique-name>';
const UNKNOWN_ID = '01890000-0000-7000-8000-000000000000';

// ── what is generated ────────────────────────────────────────────────────────────────────────────

/** JSON text placed as is: what JSON.stringify cannot write (1e400, 400 nested arrays). */
class RawJson {
  constructor(readonly text: string) {}
}

const HOSTILE_TEXT = [
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfffy',
  '\udc00\ud800',
  '\u202e',
  'pro\u200bduction',
  '\ufeff',
  '\u00ad',
  '\u2028',
  '\u2029',
  '\u061c',
  '',
  ' ',
  '💥',
  '__proto__',
  'constructor',
  'toString',
  '%00',
  '../..',
  "'; DROP TABLE connections; --",
  'x'.repeat(5000),
] as const;
const CF_CHARACTERS = [
  '\u200b',
  '\u200c',
  '\u200d',
  '\u2060',
  '\u202a',
  '\u202e',
  '\u2066',
  '\ufeff',
  '\u00ad',
];

const hostileString = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_TEXT) },
  // any code point, lone surrogates included
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.string({ maxLength: 6 }), fc.constantFrom(...CF_CHARACTERS, '\u0000', '\ud800', '\u2028'))
      .map(([text, bad]) => `${text}${bad}${text}`),
  },
);
const hugeNumber = fc
  .constantFrom(
    '1e400',
    '-1e400',
    '1e-400',
    '123456789012345678901234567890',
    '9007199254740993',
    '-0',
    '0.0000000000000000000001',
    '65536',
  )
  .map((text) => new RawJson(text));
const deepNesting = fc
  .tuple(fc.integer({ min: 20, max: 2000 }), fc.constantFrom('[', '{"a":'))
  .map(([depth, open]) => new RawJson(`${open.repeat(depth)}1${(open === '[' ? ']' : '}').repeat(depth)}`));
const value: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: hostileString },
  { weight: 2, arbitrary: hugeNumber },
  { weight: 1, arbitrary: deepNesting },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  { weight: 1, arbitrary: fc.constantFrom(null, true, 0, -1, 1.5, [], {}, UNKNOWN_ID, LIVE_ID) },
);
/** The fields of the inputs, and a few of other routes' inputs. */
const FIELDS = [
  ...Object.keys(CreateConnectionInputSchema.shape),
  'id',
  'productName',
  'mappedFields',
  'page',
  'limit',
  'status',
];
const key = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...FIELDS) },
  { weight: 1, arbitrary: hostileString },
);

/** A good input with one to three fields replaced, removed or added: most parts stay good. */
const mutated = (base: Record<string, unknown>) =>
  fc
    .tuple(
      fc.dictionary(key, value, { maxKeys: 2 }),
      fc.subarray(Object.keys(base), { maxLength: Math.min(1, Object.keys(base).length) }),
      fc.option(
        fc.dictionary(fc.oneof(fc.constantFrom('team', 'env'), hostileString), value, { maxKeys: 2 }),
      ),
    )
    .filter(
      ([replaced, removed, metadata]) => Object.keys(replaced).length + removed.length > 0 || !!metadata,
    )
    .map(([replaced, removed, metadata]) => {
      const out: Record<string, unknown> = { ...base, ...replaced };
      for (const field of removed) delete out[field];
      if (metadata) out.metadata = metadata;
      return out;
    });

/** The inputs each kind of route takes, when well formed (a create's name is made unique when sent). */
const BASES = {
  create: { ...seedBody(), configName: UNIQUE_NAME },
  patch: { configName: UNIQUE_NAME, metadata: { team: 'x' } },
  update: { id: LIVE_ID, configName: UNIQUE_NAME, metadata: { team: 'x' } },
  ref: { id: LIVE_ID },
  list: { page: 1, limit: 5, type: 'POSTGRESQL', status: 'active', sortOrder: 'desc' },
  assign: { id: LIVE_ID, productName: 'another-product' },
  testSettings: { id: LIVE_ID, host: 'db.example.com', password: 'p' },
  validateSchema: { mappedFields: { 'production-db': { t: ['f'] } } },
};

/** A spoiled JSON body: a mutated good input, any value, broken JSON, or bytes that are not UTF-8. */
const spoiledBody = (base: Record<string, unknown>) =>
  fc.oneof(
    { weight: 6, arbitrary: mutated(base).map(serialize) },
    { weight: 1, arbitrary: value.map(serialize) },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom('', '{', '{"a":', 'null', '[]', '"x"', '\u0000', '{"__proto__":{"a":1}}', '\xff\xfe{}')
        .map((text) => Buffer.from(text, text.startsWith('\xff') ? 'latin1' : 'utf8')),
    },
  );

const GOOD_HEADERS = { 'x-product-name': 'my-product' };
/** One to three headers spoiled, the others good. */
const spoiledHeaders = fc
  .record(
    {
      'content-type': fc.constantFrom(
        'text/plain',
        'application/x-www-form-urlencoded',
        'application/json; charset=latin1',
        'application/json\u0000',
        '',
      ),
      'x-product-name': hostileString,
      'if-match': fc.oneof(fc.constantFrom('"1"', 'W/"1"', '*', '"99999999999"', '1e400'), hostileString),
      'x-request-id': hostileString,
      authorization: fc.constantFrom('Bearer x', 'Basic \u0000', 'Bearer '.padEnd(3000, 'a')),
      accept: fc.constantFrom('text/event-stream', 'application/xml', '\ud800'),
    },
    { requiredKeys: [] },
  )
  .filter((headers) => Object.keys(headers).length > 0);

/** A query string: pairs of known or hostile keys and values, percent-encoded as UTF-8 or sent raw. */
const QUERY_KEYS = ['page', 'limit', 'sortOrder', 'type', 'status', 'startDate', 'endDate', 'metadata.team'];
const GOOD_QUERY = 'page=1&limit=5&sortOrder=desc&metadata.team=x';
const spoiledQuery = fc
  .array(
    fc.tuple(
      fc.oneof(fc.constantFrom(...QUERY_KEYS), hostileString),
      fc.oneof(
        value.map((v) => (v instanceof RawJson ? v.text : String(v))),
        fc.constantFrom('1', '2', 'asc'),
      ),
      fc.boolean(),
    ),
    { minLength: 1, maxLength: 3 },
  )
  .map((pairs) => pairs.map(([k, v, raw]) => `${encode(k, raw)}=${encode(v, raw)}`).join('&'));

// ── how it is sent ──────────────────────────────────────────────────────────────────────────────

function serialize(input: unknown): Buffer {
  const raws: string[] = [];
  const text = JSON.stringify(input, (_key, v) => {
    if (v instanceof RawJson) return `@@raw${raws.push(v.text) - 1}@@`;
    return v;
  });
  return Buffer.from((text ?? 'null').replace(/"@@raw(\d+)@@"/g, (_m, i) => raws[Number(i)] ?? ''));
}

/** UTF-8 percent-encoding; a lone surrogate becomes the bytes a careless client sends (not UTF-8). */
function encode(text: string, raw: boolean): string {
  if (raw) return text.replace(/[\s#&?%]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  let out = '';
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    out +=
      code >= 0xd800 && code <= 0xdfff
        ? `%ED%${(0xa0 | ((code >> 6) & 0x1f)).toString(16).toUpperCase()}%${(0x80 | (code & 0x3f)).toString(16).toUpperCase()}`
        : encodeURIComponent(ch);
  }
  return out;
}

interface RawRequest {
  method: string;
  target: string;
  headers: Record<string, string>;
  body?: Buffer;
}
interface RawAnswer {
  status: number;
  head: string;
  body: string;
}

/** Whether an SSE body holds a whole message with data, other than tRPC's opening `connected` one. */
const hasFirstMessage = (stream: string) =>
  stream
    .split('\n\n')
    .slice(0, -1)
    .some((message) => message.includes('data:') && !message.includes('event: connected'));

/** One HTTP/1.1 request written byte for byte; resolves with the answer when the server closes. */
function send(url: string, request: RawRequest): Promise<RawAnswer> {
  const { port } = new URL(url);
  const lines = [`${request.method} ${request.target} HTTP/1.1`, 'host: 127.0.0.1', 'connection: close'];
  for (const [name, v] of Object.entries(request.headers))
    lines.push(`${name}: ${v.replace(/[\r\n]/g, ' ')}`);
  if (request.body) lines.push(`content-length: ${request.body.length}`);
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'utf8');
  return new Promise((resolve, reject) => {
    const socket = connectSocket(Number(port), '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      // A subscription's stream: its first message (the connection, or an error) is the answer.
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.includes('text/event-stream') && hasFirstMessage(text.split('\r\n\r\n').slice(1).join(''))) {
        socket.destroy();
      }
    });
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [answerHead = '', ...rest] = text.split('\r\n\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answerHead)?.[1] ?? 0);
      resolve({ status, head: answerHead.toLowerCase(), body: rest.join('\r\n\r\n') });
    });
    // write, not end: a half-closed socket is dropped by the server before it answers
    socket.write(request.body ? Buffer.concat([head, request.body]) : head);
  });
}

// ── the routes ──────────────────────────────────────────────────────────────────────────────────

/** An id in a path that is not the live one: one that does not exist, or something that is not an id. */
const spoiledId = fc.oneof(
  { weight: 1, arbitrary: fc.constant(UNKNOWN_ID) },
  { weight: 3, arbitrary: hostileString.map((text) => encode(text, false) || '%20') },
);

/** What one case spoils; the rest of its request is good, so most cases reach past the parsing. */
const spoil = fc.constantFrom('nothing', 'body', 'body', 'headers', 'query', 'path');

interface Route {
  name: string;
  request: fc.Arbitrary<RawRequest>;
}

const jsonHeaders = (body: Buffer | undefined) => (body ? { 'content-type': 'application/json' } : {});

const rest = (
  method: string,
  path: string,
  options: { body?: Record<string, unknown>; query?: string; live?: string } = {},
) => ({
  name: `${method} ${path}`,
  request: fc
    .record({
      spoiled: spoil,
      id: spoiledId,
      query: spoiledQuery,
      headers: spoiledHeaders,
      body: options.body ? spoiledBody(options.body) : fc.constant(undefined),
    })
    .map(({ spoiled, id, query, headers, body }): RawRequest => {
      const sentBody = spoiled === 'body' ? body : options.body && serialize(options.body);
      const sentQuery = spoiled === 'query' ? query : (options.query ?? '');
      return {
        method,
        target: `${path.replace(':id', spoiled === 'path' ? id : (options.live ?? LIVE_ID))}${sentQuery ? `?${sentQuery}` : ''}`,
        headers: { ...jsonHeaders(sentBody), ...GOOD_HEADERS, ...(spoiled === 'headers' ? headers : {}) },
        ...(sentBody ? { body: sentBody } : {}),
      };
    }),
});

const trpcQuery = (procedure: string, base: Record<string, unknown>): Route => ({
  name: `tRPC query ${procedure}`,
  request: fc
    .record({
      spoiled: spoil,
      input: fc
        .oneof({ weight: 4, arbitrary: mutated(base) }, { weight: 1, arbitrary: value })
        .map(serialize),
      query: spoiledQuery,
      headers: spoiledHeaders,
    })
    .map(({ spoiled, input, query, headers }): RawRequest => {
      const sentInput = spoiled === 'body' || spoiled === 'path' ? input : serialize(base);
      const extra = spoiled === 'query' ? `&${query}` : '';
      return {
        method: 'GET',
        target: `/trpc/${procedure.includes('.') ? procedure : `connections.${procedure}`}?input=${encode(sentInput.toString('utf8'), false)}${extra}`,
        headers: { ...GOOD_HEADERS, ...(spoiled === 'headers' ? headers : {}) },
      };
    }),
});

const trpcMutation = (procedure: string, base: Record<string, unknown>): Route => ({
  name: `tRPC mutation ${procedure}`,
  request: fc
    .record({ spoiled: spoil, body: spoiledBody(base), query: spoiledQuery, headers: spoiledHeaders })
    .map(({ spoiled, body, query, headers }): RawRequest => {
      const sentBody = spoiled === 'body' || spoiled === 'path' ? body : serialize(base);
      return {
        method: 'POST',
        target: `/trpc/${procedure.includes('.') ? procedure : `connections.${procedure}`}${spoiled === 'query' ? `?${query}` : ''}`,
        headers: { ...jsonHeaders(sentBody), ...GOOD_HEADERS, ...(spoiled === 'headers' ? headers : {}) },
        body: sentBody,
      };
    }),
});

const W = WEBHOOKS_PATH;
/** A webhook that is never called: no connection changes while the webhook cases run. */
const WEBHOOK = { url: 'https://hooks.example.com/dbconn', events: ['connection.active'] };

const ROUTES: Route[] = [
  rest('POST', P, { body: BASES.create }),
  rest('GET', P, { query: GOOD_QUERY }),
  rest('GET', `${P}/unassigned`, { query: GOOD_QUERY }),
  rest('GET', `${P}/:id`),
  rest('PATCH', `${P}/:id`, { body: BASES.patch }),
  rest('DELETE', `${P}/:id`),
  rest('POST', `${P}/:id/assign`),
  rest('POST', `${P}/:id/test`),
  rest('POST', `${P}/test`, { body: BASES.testSettings }),
  rest('GET', `${P}/:id/schema`),
  rest('GET', `${P}/:id/history`, { query: 'limit=5' }),
  rest('POST', `${P}/validate-schema`, { body: BASES.validateSchema }),
  trpcMutation('create', BASES.create),
  trpcQuery('get', BASES.ref),
  trpcQuery('list', BASES.list),
  trpcMutation('update', BASES.update),
  trpcMutation('delete', BASES.ref),
  trpcQuery('listUnassigned', BASES.list),
  trpcMutation('assign', BASES.assign),
  trpcMutation('test', BASES.ref),
  trpcMutation('testSettings', BASES.testSettings),
  // a live trial: started (nothing runs until it is watched), and watched under an id not started
  trpcMutation('startTrial', BASES.testSettings),
  trpcQuery('watchTrial', { trialId: '0b9c2f4e-5d7a-4c1e-9f3b-2a6d8e1c4b70' }),
  trpcQuery('schema', BASES.ref),
  trpcQuery('history', { ...BASES.ref, limit: 5 }),
  trpcMutation('validateSchema', BASES.validateSchema),
  // a subscription: its stream ends once the connection is active or failed, as the live one is
  trpcQuery('watch', BASES.ref),
  // webhooks last: a webhook that exists receives no event from the connection cases
  rest('POST', W, { body: WEBHOOK }),
  rest('GET', W),
  rest('GET', `${W}/:id`, { live: LIVE_WEBHOOK }),
  rest('PATCH', `${W}/:id`, { body: { events: ['connection.failed'] }, live: LIVE_WEBHOOK }),
  rest('DELETE', `${W}/:id`, { live: LIVE_WEBHOOK }),
  rest('POST', `${W}/:id/rotate-secret`, { live: LIVE_WEBHOOK }),
  rest('GET', `${W}/:id/deliveries`, { query: 'limit=5', live: LIVE_WEBHOOK }),
  trpcMutation('webhooks.create', WEBHOOK),
  trpcQuery('webhooks.list', {}),
  trpcQuery('webhooks.get', { id: LIVE_WEBHOOK }),
  trpcMutation('webhooks.update', { id: LIVE_WEBHOOK, events: ['connection.failed'] }),
  trpcMutation('webhooks.delete', { id: LIVE_WEBHOOK }),
  trpcMutation('webhooks.rotateSecret', { id: LIVE_WEBHOOK }),
  trpcQuery('webhooks.deliveries', { id: LIVE_WEBHOOK, limit: 5 }),
];

const WRITES = /^(DELETE|PATCH) |\/assign|connections\.(delete|update|assign)/;
const WEBHOOK_WRITES = /^(DELETE|PATCH) \/v1\/management\/webhooks|webhooks\.(delete|update)/;

// ── the property ────────────────────────────────────────────────────────────────────────────────

describe(`generated requests (fast-check, seed ${SEED}): no 5xx, and no write on a 4xx`, () => {
  let h: Harness;
  let worker: WorkerProcess;
  let queues: Queue[];
  let liveId: string;
  let liveWebhook: string | undefined;
  let cases = 0;

  beforeAll(async () => {
    h = await startApi({
      LOG_LEVEL: 'error',
      VERIFY_ATTEMPTS: '1',
      RATE_LIMIT_PER_CONNECTION: '1000000',
      RATE_LIMIT_PER_CALLER: '1000000',
      RATE_LIMIT_PER_ORGANIZATION: '1000000',
      RATE_LIMIT_DIALS_PER_ORGANIZATION: '1000000',
      // the worker's own schedules stay out of the run, so every job is one a request made
      SWEEP_INTERVAL_MS: '86400000',
      REVERIFY_INTERVAL_MS: '0',
    });
    // info: startWorkerProcess waits for its "worker ready" line
    worker = await startWorkerProcess({ ...h.env, LOG_LEVEL: 'info' });
    const prefix = h.env.QUEUE_PREFIX as string;
    queues = [
      h.queue,
      createInteractiveQueue(h.redis, prefix),
      new Queue(QUEUE_NAMES.webhooks, { connection: h.redis, prefix }),
    ];
    liveId = await createLive();
    console.log(`properties: seed ${SEED} (replay with PROPERTIES_SEED=${SEED})`);
  });
  afterAll(async () => {
    console.log(`properties: ${cases} generated requests sent over ${ROUTES.length} routes, seed ${SEED}`);
    await worker?.stop();
    for (const queue of queues?.slice(1) ?? []) await queue.close();
    await h?.close();
  });

  async function createLive(): Promise<string> {
    // the machine's PostgreSQL: it verifies, so its schema and its watch answer without a 5xx
    const res = await createSeed(h, {
      ...LOCAL_PG,
      ssl: { mode: 'disable' },
      configName: `live-${randomUUID().slice(0, 8)}`,
    });
    if (res.status !== 201) throw new Error(`create answered ${res.status}`);
    await settled();
    return res.body.id;
  }

  async function createWebhook(): Promise<string> {
    const res = await send(h.url, {
      method: 'POST',
      target: WEBHOOKS_PATH,
      headers: { 'content-type': 'application/json' },
      body: serialize(WEBHOOK),
    });
    const id = /"id":"([^"]+)"/.exec(res.body)?.[1];
    if (res.status !== 201 || !id) throw new Error(`webhook create answered ${res.status} ${res.body}`);
    return id;
  }

  /**
   * Waits until no job is waiting or running, so the worker writes nothing during a comparison
   * (the delayed ones are the worker's schedules, which the intervals above keep from firing).
   */
  async function settled(): Promise<void> {
    await vi.waitFor(
      async () => {
        for (const queue of queues) {
          const counts = await queue.getJobCounts('waiting', 'active', 'prioritized');
          const live = Object.values(counts).reduce((a, b) => a + b, 0);
          if (live > 0) throw new Error(`${queue.name}: ${JSON.stringify(counts)}`);
        }
      },
      { timeout: 20_000, interval: 20 },
    );
  }

  /** The store and the job counts of both queues (completed ones trimmed first, so a new one shows). */
  async function snapshot(): Promise<string> {
    await settled();
    const counts = [];
    for (const queue of queues) {
      const done = await queue.getJobCounts('completed', 'failed');
      if ((done.completed ?? 0) + (done.failed ?? 0) > 100) {
        await queue.clean(0, 10_000, 'completed');
        await queue.clean(0, 10_000, 'failed');
      }
      counts.push(await queue.getJobCounts());
    }
    return JSON.stringify({ store: await h.storeDump(), counts });
  }

  it.each(ROUTES.map((route) => [route.name, route] as const))('%s', async (_name, route) => {
    await fc.assert(
      fc.asyncProperty(route.request, async (request) => {
        cases++;
        const name = `case-${cases}`;
        const usesWebhook = [request.target, request.body?.toString('latin1') ?? ''].some(
          (t) => t.includes(LIVE_WEBHOOK) || t.includes(encode(LIVE_WEBHOOK, false)),
        );
        if (usesWebhook && !liveWebhook) liveWebhook = await createWebhook();
        const webhook = liveWebhook ?? UNKNOWN_ID;
        const fill = (text: string) =>
          text
            .replaceAll(encode(LIVE_WEBHOOK, false), webhook)
            .replaceAll(LIVE_WEBHOOK, webhook)
            .replaceAll(encode(LIVE_ID, false), liveId)
            .replaceAll(LIVE_ID, liveId)
            .replaceAll(encode(UNIQUE_NAME, false), name)
            .replaceAll(UNIQUE_NAME, name);
        const sent = { ...request, target: fill(request.target) };
        if (sent.body) sent.body = Buffer.from(fill(sent.body.toString('latin1')), 'latin1');
        const before = await snapshot();
        const answer = await send(h.url, sent);
        const shown = `${sent.method} ${sent.target} -> ${answer.status} ${answer.body.slice(0, 300)}`;
        expect(answer.status, shown).toBeGreaterThanOrEqual(200);
        expect(answer.status, shown).toBeLessThan(500);
        // an error inside a subscription's stream is a 5xx by other means
        expect(answer.body, shown).not.toMatch(/"code":"INTERNAL"|INTERNAL_SERVER_ERROR/);
        if (answer.status >= 400)
          expect(await snapshot(), `${shown}: wrote on a ${answer.status}`).toBe(before);
        // A write that went through (deleted, moved, renamed or reassigned the live connection): the
        // next case starts from a fresh one, so its outcome does not hang on this one's.
        const call = `${sent.method} ${sent.target}`;
        if (answer.status < 300 && WEBHOOK_WRITES.test(call)) liveWebhook = undefined;
        else if (answer.status < 300 && WRITES.test(call)) liveId = await createLive();
      }),
      { seed: SEED, numRuns: RUNS_PER_ROUTE, endOnFailure: false },
    );
  });
});
