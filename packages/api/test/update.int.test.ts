import { loadConfig, openStoredSecrets, verifyJobId } from '@dbconn/shared';
import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../examples/typed-client.js';
import { createSeed, type Harness, http, startApi } from './harness.js';

const PATH = '/v1/management/connections';

describe('PATCH /v1/management/connections/{id}', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startApi();
  });
  afterAll(async () => {
    await h.close();
  });

  const rowOf = async (id: string) => (await h.rawRows()).find((r) => r.id === id) as Record<string, unknown>;
  const patch = (id: string, body: unknown, headers: Record<string, string> = {}) =>
    http(h, 'PATCH', `${PATH}/${id}`, { body, headers });

  it('a metadata-only change bumps version, keeps status and dialled version, enqueues nothing', async () => {
    const { body: created } = await createSeed(h, { configName: 'upd-meta' });
    const res = await patch(created.id, { metadata: { team: 'platform' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ version: 2, status: 'pending', metadata: { team: 'platform' } });
    expect(res.headers.get('etag')).toBe('"2"');
    expect(new Date(res.body.updatedAt).getTime()).toBeGreaterThanOrEqual(
      new Date(created.updatedAt).getTime(),
    );
    expect((await rowOf(created.id)).dial_version).toBe(1);
    expect(await h.queue.getJob(verifyJobId({ connectionId: created.id, dialVersion: 2 }))).toBeUndefined();
  });

  it('a change to what is dialled sets pending and enqueues a verification for the new settings', async () => {
    const { body: created } = await createSeed(h, { configName: 'upd-host' });
    const res = await patch(created.id, { host: 'db2.example.com', port: 6543, password: 'for-db2' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ version: 2, status: 'pending', host: 'db2.example.com', port: 6543 });
    expect((await rowOf(created.id)).dial_version).toBe(2);
    const job = await h.queue.getJob(verifyJobId({ connectionId: created.id, dialVersion: 2 }));
    expect(job?.data).toEqual({
      connectionId: created.id,
      organizationId: 'default',
      dialVersion: 2,
      reason: 'updated',
    });
  });

  it('a metadata key the engine dials with (Oracle serviceName) is a change to what is dialled', async () => {
    const { body: created } = await createSeed(h, {
      configName: 'upd-oracle-service',
      type: 'ORACLE',
      port: 1521,
      metadata: { serviceName: 'FREEPDB1', team: 'data' },
    });
    // Another key, or the same serviceName again: nothing to dial anew.
    expect((await patch(created.id, { metadata: { serviceName: 'FREEPDB1', team: 'ops' } })).status).toBe(
      200,
    );
    expect((await rowOf(created.id)).dial_version).toBe(1);

    const res = await patch(created.id, { metadata: { serviceName: 'ORCLPDB1', team: 'ops' } });
    expect(res.body).toMatchObject({ version: 3, status: 'pending' });
    expect((await rowOf(created.id)).dial_version).toBe(2);
    expect(
      (await h.queue.getJob(verifyJobId({ connectionId: created.id, dialVersion: 2 })))?.data,
    ).toMatchObject({ reason: 'updated' });
    // On an engine that does not read it, serviceName is only a label.
    const { body: pg } = await createSeed(h, {
      configName: 'upd-pg-service',
      metadata: { serviceName: 'a' },
    });
    await patch(pg.id, { metadata: { serviceName: 'b' } });
    expect((await rowOf(pg.id)).dial_version).toBe(1);
  });

  it('an omitted or empty password keeps the stored one; a new one is sealed, never echoed', async () => {
    const { body: created } = await createSeed(h, { configName: 'upd-pass' });
    const sealed = (await rowOf(created.id)).sealed_secrets;
    expect((await patch(created.id, { password: '' })).status).toBe(200);
    expect((await rowOf(created.id)).sealed_secrets).toBe(sealed);
    const res = await patch(created.id, { password: 'n3w-s3cret-pass' });
    expect(res.status).toBe(200);
    expect(JSON.stringify(res.body)).not.toContain('n3w-s3cret-pass');
    const row = await rowOf(created.id);
    expect(row.sealed_secrets).not.toBe(sealed);
    expect(JSON.stringify(row)).not.toContain('n3w-s3cret-pass');
    expect(row.dial_version).toBe(2);
    expect(h.logs.join('\n')).not.toContain('n3w-s3cret-pass');
  });

  it('ssl: null removes SSL; a new mode replaces it', async () => {
    const { body: created } = await createSeed(h, { configName: 'upd-ssl' });
    const mode = await patch(created.id, { ssl: { mode: 'verify-full' } });
    expect(mode.body.ssl).toEqual({ mode: 'verify-full' });
    const removed = await patch(created.id, { ssl: null, password: 'sent-again' });
    expect(removed.status).toBe(200);
    expect(removed.body).not.toHaveProperty('ssl');
    expect(removed.body.version).toBe(3);
  });

  it('If-Match: the current version passes, a stale one answers 412, garbage 400', async () => {
    const { body: created } = await createSeed(h, { configName: 'upd-ifmatch' });
    expect((await patch(created.id, { metadata: { a: '1' } }, { 'if-match': '"1"' })).status).toBe(200);
    const stale = await patch(created.id, { metadata: { a: '2' } }, { 'if-match': '1' });
    expect(stale.status).toBe(412);
    expect(stale.body).toMatchObject({ code: 'VERSION_MISMATCH', currentVersion: 2 });
    expect((await http(h, 'GET', `${PATH}/${created.id}`)).body.metadata).toEqual({ a: '1' });
    const bad = await patch(created.id, { metadata: {} }, { 'if-match': 'yesterday' });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('INVALID_HEADER');
    expect(bad.body.errors[0].field).toBe('If-Match');
    // `*` asks only that the connection exists.
    expect((await patch(created.id, { metadata: { a: '3' } }, { 'if-match': '*' })).status).toBe(200);
    expect((await patch('01890000-0000-7000-8000-000000000000', {}, { 'if-match': '*' })).status).toBe(404);
  });

  it('without If-Match, concurrent PATCHes all land: each is retried on a conflict, none answers 412', async () => {
    const { body: created } = await createSeed(h, { configName: 'upd-concurrent' });
    // Ten changes to ten different fields, sent at once: a lost update would undo one of them. A new
    // host, port or type carries the password again (credential redirection), the same one each time.
    const again = 'a-concurrent-password';
    const changes: Record<string, unknown>[] = [
      { configName: 'upd-concurrent-renamed' },
      { host: 'db9.example.com', password: again },
      { port: 6543, password: again },
      { databaseName: 'otherdb' },
      { userName: 'otheruser' },
      { schema: 'reporting' },
      { metadata: { team: 'platform' } },
      { password: again },
      { ssl: { mode: 'verify-full' } },
      { type: 'mysql', password: again },
    ];
    const replies = await Promise.all(changes.map((change) => patch(created.id, change)));
    expect(replies.map((r) => r.status)).toEqual(changes.map(() => 200));

    const final = (await http(h, 'GET', `${PATH}/${created.id}`)).body;
    expect(final).toMatchObject({
      version: 1 + changes.length,
      configName: 'upd-concurrent-renamed',
      host: 'db9.example.com',
      port: 6543,
      databaseName: 'otherdb',
      userName: 'otheruser',
      schema: 'reporting',
      metadata: { team: 'platform' },
      ssl: { mode: 'verify-full' },
      type: 'MYSQL',
    });
    const row = await rowOf(created.id);
    const secrets = openStoredSecrets(
      { keys: loadConfig(h.env).secrets.keys },
      { id: created.id, organizationId: 'default', sealedSecrets: row.sealed_secrets as string },
    );
    // The password change and the ssl change both re-seal the secrets: neither undid the other.
    expect(secrets.password).toBe('a-concurrent-password');
    expect(secrets.ca).toContain('BEGIN CERTIFICATE');
  });

  it('applies the create rules and changes nothing on a 400; productName cannot change here', async () => {
    const { body: created } = await createSeed(h, { configName: 'upd-rules' });
    const res = await patch(created.id, {
      port: 0,
      configName: 'ab',
      productName: 'other',
      metadata: { x: {} },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
      'configName',
      'metadata.x',
      'port',
      'productName',
    ]);
    const after = await http(h, 'GET', `${PATH}/${created.id}`);
    expect(after.body).toEqual(created);
  });

  it('renaming onto a taken name answers 409; unknown or other-product ids 404', async () => {
    await createSeed(h, { configName: 'upd-taken' });
    const { body: created } = await createSeed(h, { configName: 'upd-rename' });
    const clash = await patch(created.id, { configName: 'UPD-TAKEN' });
    expect(clash.status).toBe(409);
    expect(clash.body.code).toBe('CONFIG_NAME_TAKEN');
    expect((await patch(created.id, { configName: 'upd-renamed' })).body.configName).toBe('upd-renamed');
    expect((await patch('01890000-0000-7000-8000-000000000000', { metadata: {} })).status).toBe(404);
    expect((await patch(created.id, { metadata: {} }, { 'x-product-name': 'someone-else' })).status).toBe(
      404,
    );
  });

  it('secrets that no longer open: a new password replaces them; a change that needs them answers 400', async () => {
    const { body: created } = await createSeed(h, { configName: 'upd-unreadable' });
    await h.damageSecrets(created.id);

    const needsThem = await patch(created.id, { ssl: { mode: 'verify-full' } });
    expect(needsThem.status).toBe(400);
    expect(needsThem.body.errors).toEqual([
      { field: 'password', message: expect.stringContaining('send the password again') },
    ]);
    const trial = await http(h, 'POST', '/v1/management/connections/test', {
      body: { id: created.id, port: 1 },
    });
    expect(trial.status).toBe(400);

    const replaced = await patch(created.id, { password: 'a-fresh-password' });
    expect(replaced.status).toBe(200);
    expect((await rowOf(created.id)).sealed_secrets).toMatch(/^v1\./);
  });

  it('tRPC connections.update behaves the same', async () => {
    const api = connect(h.url);
    const { body: created } = await createSeed(h, { configName: 'upd-trpc' });
    const updated = await api.connections.update.mutate({
      id: created.id,
      expectedVersion: 1,
      databaseName: 'other',
    });
    expect(updated).toMatchObject({ version: 2, status: 'pending', databaseName: 'other' });
    try {
      await api.connections.update.mutate({ id: created.id, expectedVersion: 1, databaseName: 'again' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(TRPCClientError);
      expect((err as TRPCClientError<never>).data).toMatchObject({
        code: 'VERSION_MISMATCH',
        httpStatus: 412,
      });
    }
  });
});
