import { createInteractiveQueue, JOB_NAMES, QUEUE_NAMES } from '@dbconn/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONNECTIONS_PATH } from '../../src/rest/connections.rest.js';
import { createSeed, type Harness, http, seedBody, startApi } from '../harness.js';

/** `name{labels} value` lines of the Prometheus text format, keyed by `name{labels}`. */
async function scrape(h: Harness): Promise<{ text: string; samples: Map<string, number> }> {
  const res = await fetch(`${h.url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (match) samples.set(match[1] as string, Number(match[2]));
  }
  return { text, samples };
}

const CREATED_REST = 'dbconn_connections_created_total{door="rest"}';
const CREATED_TRPC = 'dbconn_connections_created_total{door="trpc"}';
const CREATE_201 = `http_request_duration_seconds_count{method="POST",route="${CONNECTIONS_PATH}",status_code="201"}`;

describe('/metrics', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startApi();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('exposes default process metrics in the text format', async () => {
    const { text } = await scrape(h);
    expect(text).toContain('# TYPE process_cpu_user_seconds_total counter');
    expect(text).toContain('# TYPE http_request_duration_seconds histogram');
  });

  it('counts a REST create and times it under its route pattern', async () => {
    const before = (await scrape(h)).samples;
    const created = await createSeed(h);
    expect(created.status).toBe(201);
    const after = (await scrape(h)).samples;
    expect(after.get(CREATED_REST)).toBe((before.get(CREATED_REST) ?? 0) + 1);
    expect(after.get(CREATE_201)).toBe((before.get(CREATE_201) ?? 0) + 1);
    expect(after.get(`dbconn_queue_jobs{queue="verify",state="waiting"}`)).toBeGreaterThanOrEqual(1);
  });

  it('counts a tRPC create, and not a tRPC read', async () => {
    const before = (await scrape(h)).samples.get(CREATED_TRPC) ?? 0;
    const res = await http(h, 'POST', '/trpc/connections.create', {
      body: { ...seedBody(), configName: 'created-over-trpc' },
    });
    expect(res.status).toBe(200);
    await http(
      h,
      'GET',
      `/trpc/connections.get?input=${encodeURIComponent(JSON.stringify({ id: res.body.result.data.id }))}`,
    );
    expect((await scrape(h)).samples.get(CREATED_TRPC)).toBe(before + 1);
  });

  it('counts what was stored: one of a mixed tRPC batch, none for a refused REST create', async () => {
    const before = (await scrape(h)).samples;
    const body = { ...seedBody(), configName: 'batched-create' };
    const batch = await http(h, 'POST', '/trpc/connections.create,connections.create?batch=1', {
      body: { 0: body, 1: body },
    });
    // The second call of the batch meets the name the first one took.
    expect(batch.status).toBe(207);
    expect((await createSeed(h, { configName: 'batched-create' })).status).toBe(409);
    const after = (await scrape(h)).samples;
    expect(after.get(CREATED_TRPC)).toBe((before.get(CREATED_TRPC) ?? 0) + 1);
    expect(after.get(CREATED_REST)).toBe(before.get(CREATED_REST) ?? 0);
  });

  it('labels requests by route pattern, never by URL, and carries no secret', async () => {
    const created = await createSeed(h, { configName: 'labelled-by-pattern' });
    const id = created.body.id as string;
    expect((await http(h, 'GET', `${CONNECTIONS_PATH}/${id}`)).status).toBe(200);
    expect((await http(h, 'GET', `/no/such/${id}`)).status).toBe(404);
    const { text, samples } = await scrape(h);
    expect(
      samples.get(
        `http_request_duration_seconds_count{method="GET",route="${CONNECTIONS_PATH}/:id",status_code="200"}`,
      ),
    ).toBeGreaterThanOrEqual(1);
    expect(text).toContain('route="(unmatched)",status_code="404"');
    expect(text).not.toContain(id);
    expect(text).not.toContain('secretpassword');
    expect(text).not.toContain('BEGIN CERTIFICATE');
  });

  it('reports the age of the oldest waiting job of each queue', async () => {
    // Nothing else uses the interactive queue in this file: the back-dated job is the oldest.
    const interactive = createInteractiveQueue(h.redis, h.env.QUEUE_PREFIX as string);
    try {
      await interactive.add(
        JOB_NAMES.discoverSchema,
        { organizationId: 'default', connectionId: '0190d7a0-0000-7000-8000-000000000000', dialVersion: 1 },
        { timestamp: Date.now() - 3_600_000 },
      );
      const { samples } = await scrape(h);
      const key = `dbconn_queue_oldest_waiting_age_seconds{queue="${QUEUE_NAMES.interactive}"}`;
      expect(samples.get(key)).toBeGreaterThanOrEqual(3600);
      expect(samples.get(`dbconn_queue_jobs{queue="interactive",state="waiting"}`)).toBe(1);
    } finally {
      await interactive.obliterate({ force: true });
      await interactive.close();
    }
  });
});
