import { randomBytes } from 'node:crypto';
import { createRedis } from '@dbconn/shared';
import {
  type CertificateAuthority,
  makeCa,
  type Pem,
  type PostgresFixture,
  runReseal,
  startPostgres,
} from '@dbconn/worker/test-fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../examples/typed-client.js';
import { type Harness, http, REDIS_URL, type Reply, startApi } from '../harness.js';
import { PATH, waitForStatus } from './helpers.js';
import { startWorkerProcess, type WorkerProcess } from './worker-process.js';

/**
 * Issue 10, the canary proof. A canary password, CA, client certificate and client key — made
 * here, so they exist nowhere else — go through create, update (REST and tRPC), test now,
 * try-before-save (new settings, an id with changes, and a live trial), schema discovery, failing requests, and a
 * master-key rotation (the reseal command, then a worker with the new key), against a real
 * PostgreSQL with TLS whose server certificate the canary CA signed and whose login is the canary
 * password. Afterwards none of these holds a trace of any of them — as text, hex, or base64
 * (standard and url-safe, at every byte alignment), and for the PEMs also their DER:
 * every table and row of the store, every key and value in Redis (all types, whole database),
 * every message published on Redis meanwhile (live status and stage events),
 * the API's log, both workers' and the reseal command's output, both /metrics, the queue
 * dashboard's JSON API, and every answer the test received.
 *
 * Proven able to fail: a worker that logged base64url(password) and the hex of the key's DER at
 * debug level was caught by both (the password in two alignments, the key as hex).
 */

const ADMIN = { ADMIN_USER: 'ops', ADMIN_PASSWORD: 'canary-dashboard-login-1' };
const DASHBOARD = {
  authorization: `Basic ${Buffer.from(`${ADMIN.ADMIN_USER}:${ADMIN.ADMIN_PASSWORD}`).toString('base64')}`,
};
const key1 = randomBytes(32).toString('base64');
const key2 = randomBytes(32).toString('base64');

/** Every base64 spelling of `bytes` inside a longer base64 text: one per byte alignment, both alphabets. */
function base64Traces(bytes: Buffer): string[] {
  const out: string[] = [];
  for (const shift of [0, 1, 2]) {
    const padded = Buffer.concat([Buffer.alloc(shift), bytes]);
    // only the characters whose six bits all come from `bytes`
    const start = Math.ceil((8 * shift) / 6);
    const end = Math.floor((8 * (shift + bytes.length)) / 6);
    for (const encoding of ['base64', 'base64url'] as const) {
      out.push(padded.toString(encoding).slice(start, end));
    }
  }
  return out;
}

/** The spellings of a secret that must be found nowhere. */
function traces(secret: string): string[] {
  const bytes = Buffer.from(secret);
  const found = [secret, bytes.toString('hex'), bytes.toString('hex').toUpperCase(), ...base64Traces(bytes)];
  const pem = /-----BEGIN [A-Z ]+-----\n([\s\S]+?)\n-----END/.exec(secret);
  if (pem?.[1]) {
    const lines = pem[1].split('\n');
    const der = Buffer.from(lines.join(''), 'base64');
    // each whole line of the body (a PEM escaped into JSON keeps them), the DER in every spelling
    found.push(...lines.filter((line) => line.length >= 40), der.toString('hex'), ...base64Traces(der));
  }
  return found;
}

describe('a canary secret leaves no trace outside the sealed column', () => {
  let h: Harness;
  let database: PostgresFixture;
  let authority: CertificateAuthority;
  let client: Pem;
  const workers: WorkerProcess[] = [];
  let resealOutput = '';
  /** Every message published on this Redis while the test runs (live events are not keys). */
  const published: string[] = [];
  let subscriber: Harness['redis'] | undefined;
  const replies: Reply[] = [];
  const PASSWORD = `Canary-Pw-${randomBytes(12).toString('hex')}`;
  const USER = 'canary_user';

  /** A request whose answer joins those searched at the end. */
  const call = async (method: string, path: string, options: Parameters<typeof http>[3] = {}) => {
    const reply = await http(h, method, path, options);
    replies.push(reply);
    return reply;
  };

  beforeAll(async () => {
    authority = await makeCa(`dbconn canary CA ${randomBytes(4).toString('hex')}`);
    const server = await authority.issue({ commonName: 'localhost', altNames: ['IP:127.0.0.1'] });
    client = await authority.issue({ commonName: USER });
    database = await startPostgres({
      tls: { server, clientCa: authority.cert },
      hba: [`hostssl all all 127.0.0.0/8 scram-sha-256`],
    });
    await database.admin(`CREATE ROLE ${USER} LOGIN PASSWORD '${PASSWORD}'`);
    h = await startApi({ ...ADMIN, MASTER_KEYS: `1:${key1}`, VERIFY_ATTEMPTS: '1' });
    subscriber = createRedis(REDIS_URL, { blocking: true });
    subscriber.on('pmessage', (_pattern, channel, message) => published.push(`${channel} ${message}`));
    await subscriber.psubscribe('*');
    workers.push(await startWorkerProcess(h.env));
  });
  afterAll(async () => {
    for (const worker of workers) await worker.stop();
    subscriber?.disconnect();
    await h?.close();
    await database?.stop();
    await authority?.remove();
  }, 120_000);

  const settings = () => ({
    type: 'POSTGRESQL',
    host: '127.0.0.1',
    port: database.port,
    databaseName: 'postgres',
    userName: USER,
    password: PASSWORD,
    schema: 'public',
    ssl: { mode: 'verify-full', ca: authority.cert, cert: client.cert, key: client.key },
  });

  it('goes through every path, and a rotation, and is found nowhere', async () => {
    const product = { 'x-product-name': 'canary' };

    // create, and the background verification with every secret
    const created = await call('POST', PATH, {
      body: { configName: 'canary', ...settings() },
      headers: product,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id: string = created.body.id;
    expect((await waitForStatus(h, id)).status).toBe('active');

    // refused writes that carry the secrets: a duplicate name, a bad field, material that is not a key
    expect(
      (await call('POST', PATH, { body: { configName: 'canary', ...settings() }, headers: product })).status,
    ).toBe(409);
    expect(
      (
        await call('POST', PATH, {
          body: { ...settings(), configName: 'canary-2', port: 'x' },
          headers: product,
        })
      ).status,
    ).toBe(400);
    const badKey = {
      ...settings().ssl,
      key: `-----BEGIN PRIVATE KEY-----\n${PASSWORD}\n-----END PRIVATE KEY-----\n`,
    };
    expect((await call('PATCH', `${PATH}/${id}`, { body: { password: PASSWORD, ssl: badKey } })).status).toBe(
      400,
    );
    expect((await call('PATCH', `${PATH}/${id}`, { body: { host: '127.0.0.2' } })).status).toBe(400);

    // updates through both doors, carrying the secrets again
    const patched = await call('PATCH', `${PATH}/${id}`, {
      body: { password: PASSWORD, ssl: settings().ssl, metadata: { step: 'patched' } },
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect((await waitForStatus(h, id)).status).toBe('active');
    const updated = await call('POST', '/trpc/connections.update', {
      body: { id, password: PASSWORD, ssl: settings().ssl, metadata: { step: 'updated' } },
    });
    expect(updated.status, JSON.stringify(updated.body)).toBe(200);
    expect((await waitForStatus(h, id)).status).toBe('active');

    // test now, try-before-save (new settings; an id with a change; one the server refuses), schema
    expect((await call('POST', `${PATH}/${id}/test`)).body.status).toBe('success');
    const trial = await call('POST', `${PATH}/test`, { body: settings() });
    expect(trial.body.status, JSON.stringify(trial.body)).toBe('success');
    const withId = await call('POST', '/trpc/connections.testSettings', {
      body: { id, port: database.port, password: PASSWORD, ssl: settings().ssl },
    });
    expect(withId.status, JSON.stringify(withId.body)).toBe(200);
    // a live trial: the settings in startTrial's body, its stream (stages, then the result) searched too
    const started = await call('POST', '/trpc/connections.startTrial', { body: settings() });
    expect(started.status, JSON.stringify(started.body)).toBe(200);
    const live = await new Promise<string>((resolve, reject) => {
      const updates: unknown[] = [];
      const subscription = connect(h.url).connections.watchTrial.subscribe(
        { trialId: started.body.result.data.trialId },
        {
          onData: (update) => {
            updates.push(update);
            if (update.kind !== 'result') return;
            subscription.unsubscribe();
            resolve(JSON.stringify(updates));
          },
          onError: reject,
        },
      );
    });
    expect(live).toContain('"status":"success"');
    const refused = await call('POST', `${PATH}/test`, { body: { ...settings(), userName: 'nobody' } });
    expect(refused.body.error?.code, JSON.stringify(refused.body)).toBe('AUTH_FAILED');
    expect((await call('GET', `${PATH}/${id}/schema`)).status).toBe(200);

    // the rotation: reseal under key 2, then a worker that has it verifies through the resealed secrets
    const resealed = await runReseal({ ...h.env, MASTER_KEYS: `1:${key1},2:${key2}` });
    resealOutput = `${resealed.stdout}${resealed.stderr}`;
    expect(resealed.code, resealOutput).toBe(0);
    await workers[0]?.stop();
    workers.push(await startWorkerProcess({ ...h.env, MASTER_KEYS: `1:${key1},2:${key2}` }));
    expect((await call('POST', `${PATH}/${id}/test`)).body.status).toBe('success');
    expect((await call('GET', `${PATH}/${id}/schema`)).status).toBe(200);
    expect((await h.rawRows())[0]?.sealed_secrets).toMatch(/^v2\./);

    // everything that could hold a trace
    const places: Record<string, string> = {
      store: await h.storeDump(),
      redis: await dumpAllOfRedis(h),
      'Redis pub/sub': published.join('\n'),
      'API log': h.logs.join('\n'),
      'worker output': workers.map((w) => w.output.join('')).join('\n'),
      'reseal output': resealOutput,
      'API /metrics': (await call('GET', '/metrics')).body,
      'worker /metrics': await (await fetch(`http://127.0.0.1:${workers[1]?.opsPort()}/metrics`)).text(),
      dashboard: await dashboardJson(h),
      answers: replies.map((r) => `${JSON.stringify([...r.headers])} ${JSON.stringify(r.body)}`).join('\n'),
      'live trial stream': live,
    };
    // what is searched is there (a search of empty places proves nothing)
    expect(places.store).toContain(id);
    expect(places.dashboard).toContain(id);
    expect(places['worker output']).toContain(id);
    expect(places['Redis pub/sub']).toContain(id);
    expect(places['reseal output']).toContain('"resealed"');
    expect(places['live trial stream']).toContain('"kind":"stage"');
    expect(places['Redis pub/sub']).toContain(`:events:trial:${started.body.result.data.trialId}`);

    const secrets = {
      password: PASSWORD,
      CA: authority.cert,
      'client cert': client.cert,
      'client key': client.key,
    };
    const found = new Set<string>();
    for (const [secretName, secret] of Object.entries(secrets)) {
      for (const trace of traces(secret)) {
        for (const [place, text] of Object.entries(places)) {
          if (text.includes(trace))
            found.add(`the ${secretName} (as ${JSON.stringify(trace.slice(0, 24))}…) in the ${place}`);
        }
      }
    }
    expect([...found]).toEqual([]);
  }, 180_000);
});

/** Every key of the Redis database the test uses (not only this server's prefix), whatever its type. */
async function dumpAllOfRedis(h: Harness): Promise<string> {
  const values: unknown[] = [];
  const { redis } = h;
  if (!('scanStream' in redis)) throw new Error('the canary reads one Redis server, not a Cluster');
  for await (const keys of redis.scanStream({ match: '*', count: 1000 })) {
    for (const key of keys as string[]) {
      const type = await redis.type(key);
      values.push(key);
      if (type === 'string') values.push(await redis.getBuffer(key).then((b) => b?.toString('latin1')));
      else if (type === 'hash') values.push(await redis.hgetall(key));
      else if (type === 'list') values.push(await redis.lrange(key, 0, -1));
      else if (type === 'set') values.push(await redis.smembers(key));
      else if (type === 'zset') values.push(await redis.zrange(key, 0, -1, 'WITHSCORES'));
      else if (type === 'stream') values.push(await redis.xrange(key, '-', '+'));
      else if (type !== 'none') values.push(`unread type ${type}`);
    }
  }
  return JSON.stringify(values);
}

/** The queue dashboard's JSON: both queues in every state, and each job's detail and logs. */
async function dashboardJson(h: Harness): Promise<string> {
  const parts: unknown[] = [];
  const states = ['latest', 'active', 'waiting', 'prioritized', 'delayed', 'completed', 'failed', 'paused'];
  for (const queue of ['verify', 'interactive']) {
    for (const status of states) {
      const res = await http(
        h,
        'GET',
        `/admin/queues/api/queues?activeQueue=${queue}&status=${status}&page=1`,
        {
          headers: DASHBOARD,
        },
      );
      expect(res.status).toBe(200);
      parts.push(res.body);
      const active = (res.body.queues as { name: string; jobs: { id: string }[] }[]).find(
        (q) => q.name === queue,
      );
      for (const job of active?.jobs ?? []) {
        for (const suffix of ['', '/logs']) {
          const detail = await http(
            h,
            'GET',
            `/admin/queues/api/queues/${queue}/${encodeURIComponent(job.id)}${suffix}`,
            {
              headers: DASHBOARD,
            },
          );
          parts.push(detail.body);
        }
      }
    }
  }
  return JSON.stringify(parts);
}
