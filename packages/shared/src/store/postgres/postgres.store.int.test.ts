import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import {
  describeStoreContract,
  makeTestRecord,
  makeTestWebhook,
  verificationResult,
} from '../../../test/store-contract/index.js';
import { AppError, RETRY_AFTER_SECONDS } from '../../errors.js';
import { uuidv7 } from '../../uuid.js';
import { DEFAULT_STORE_OPTIONS } from '../types.js';
import { MIGRATIONS } from './migrations.js';
import { PostgresConnectionStore } from './postgres.store.js';

const DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';
const uniqueSchema = () => `t_store_${uuidv7().replaceAll('-', '').slice(-16)}`;
const storeUrl = (schema: string) => `${DATABASE_URL}?schema=${schema}`;

async function dropSchema(schema: string) {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
  } finally {
    await client.end();
  }
}

async function queryIn<Row extends pg.QueryResultRow>(schema: string, sql: string, params: unknown[] = []) {
  const client = new pg.Client({ connectionString: DATABASE_URL, options: `-c search_path=${schema}` });
  await client.connect();
  try {
    return (await client.query<Row>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

const contractSchema = uniqueSchema();
describeStoreContract(
  'PostgreSQL',
  async () => new PostgresConnectionStore(storeUrl(contractSchema)),
  async (store) => {
    await store.close();
    await dropSchema(contractSchema);
  },
);

describe('PostgresConnectionStore', () => {
  const schemas: string[] = [];
  const stores: PostgresConnectionStore[] = [];
  const open = (schema: string) => {
    const store = new PostgresConnectionStore(storeUrl(schema));
    stores.push(store);
    return store;
  };

  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    for (const schema of schemas) await dropSchema(schema);
  });
  /** A store of its own, migrated. */
  const openNew = async () => {
    const schema = uniqueSchema();
    schemas.push(schema);
    const store = open(schema);
    await store.init();
    return { schema, store };
  };
  /** The 'created' history entry of a record. */
  const created = (record: ReturnType<typeof makeTestRecord>) => ({
    id: uuidv7(),
    organizationId: record.organizationId,
    connectionId: record.id,
    at: new Date(),
    kind: 'change' as const,
    action: 'created' as const,
    subject: null,
  });
  /** Creates sent at once, as concurrent requests send them: each one's outcome, in order. */
  const createAtOnce = (store: PostgresConnectionStore, records: ReturnType<typeof makeTestRecord>[]) =>
    Promise.allSettled(records.map((record) => store.insertWithHistory(record, created(record))));
  /** The transactions that wrote these rows: rows written by one statement share one `xmin`. */
  const writers = async (schema: string, ids: string[]) =>
    new Set(
      (
        await queryIn<{ xmin: string }>(
          schema,
          'SELECT xmin::text FROM connections WHERE id = ANY($1::uuid[])',
          [ids],
        )
      ).map((row) => row.xmin),
    );

  it('migrates once when several processes init at the same time, and init again is a no-op', async () => {
    const schema = uniqueSchema();
    schemas.push(schema);
    const [first, second, third] = [open(schema), open(schema), open(schema)];
    await Promise.all([first.init(), second.init(), third.init()]);
    await first.init();

    const applied = await queryIn<{ version: number }>(
      schema,
      'SELECT version FROM schema_migrations ORDER BY version',
    );
    expect(applied.map((row) => row.version)).toEqual(MIGRATIONS.map((m) => m.version));
    const tables = await queryIn<{ table_name: string }>(
      schema,
      `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`,
      [schema],
    );
    expect(tables.map((row) => row.table_name)).toEqual([
      'connection_history',
      'connections',
      'schema_migrations',
      'webhook_deliveries',
      'webhooks',
    ]);

    const record = makeTestRecord();
    await third.insert(record);
    expect(await second.findById({ organizationId: record.organizationId }, record.id)).toEqual(record);
  });

  it('stores sealedSecrets exactly as given', async () => {
    const schema = uniqueSchema();
    schemas.push(schema);
    const store = open(schema);
    await store.init();
    const sealedSecrets = 'v2.kid-7.AAECAwQFBgcICQoL.3q2+7w==/Zm9vYmFy.  trailing space and ünïcode ';
    const record = makeTestRecord({ sealedSecrets });
    await store.insert(record);
    const rows = await queryIn<{ sealed_secrets: string }>(
      schema,
      'SELECT sealed_secrets FROM connections WHERE id = $1',
      [record.id],
    );
    expect(rows).toEqual([{ sealed_secrets: sealedSecrets }]);
  });

  it('keeps each schema separate', async () => {
    const [schemaA, schemaB] = [uniqueSchema(), uniqueSchema()];
    schemas.push(schemaA, schemaB);
    const [a, b] = [open(schemaA), open(schemaB)];
    await Promise.all([a.init(), b.init()]);
    const record = makeTestRecord();
    await a.insert(record);
    await expect(b.insert({ ...record })).resolves.toBeUndefined();
    await a.softDelete({ organizationId: record.organizationId }, record.id);
    expect(await b.findById({ organizationId: record.organizationId }, record.id)).toEqual(record);
  });

  it('answers UNAVAILABLE with a retry hint when the database cannot be reached', async () => {
    // Port 1 on loopback: nothing listens, the connect is refused at once.
    const store = new PostgresConnectionStore('postgres://postgres@127.0.0.1:1/test');
    stores.push(store);
    for (const call of [() => store.ping(), () => store.init(), () => store.insert(makeTestRecord())]) {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(AppError);
      expect(error).toMatchObject({
        code: 'UNAVAILABLE',
        retryAfter: RETRY_AFTER_SECONDS,
        message: 'the store is unavailable',
      });
    }
  });

  it('purges history entries older than HISTORY_RETENTION_DAYS, and keeps the rest', async () => {
    const schema = uniqueSchema();
    schemas.push(schema);
    const store = new PostgresConnectionStore(storeUrl(schema), {
      ...DEFAULT_STORE_OPTIONS,
      historyRetentionDays: 10,
    });
    stores.push(store);
    await store.init();
    const organizationId = 'org-purge';
    const connectionId = uuidv7();
    const entry = (daysAgo: number) => {
      const at = new Date(Date.now() - daysAgo * 86_400_000);
      return {
        id: uuidv7(at.getTime()),
        organizationId,
        connectionId,
        at,
        kind: 'verification' as const,
        reason: 'periodic' as const,
        status: 'active' as const,
        statusChanged: false,
        latencyMs: 3,
      };
    };
    const [old, older, recent] = [entry(11), entry(30), entry(9)];
    for (const e of [old, older, recent]) await store.appendHistory(e);
    expect(await store.purgeHistory()).toBe(2);
    const left = await queryIn<{ id: string }>(schema, 'SELECT id FROM connection_history');
    expect(left).toEqual([{ id: recent.id }]);
    expect(await store.purgeHistory()).toBe(0);
  });

  it('insertWithHistory writes the record and its entry together, or neither (a taken name)', async () => {
    const schema = uniqueSchema();
    schemas.push(schema);
    const store = open(schema);
    await store.init();
    const first = makeTestRecord({ organizationId: 'org-h', configName: 'history-one' });
    await store.insertWithHistory(first, created(first));
    expect(await store.findById({ organizationId: 'org-h' }, first.id)).toMatchObject({ id: first.id });
    expect(await store.listHistory('org-h', first.id, { limit: 10 })).toMatchObject([
      { connectionId: first.id, kind: 'change', action: 'created' },
    ]);

    const clash = makeTestRecord({ organizationId: 'org-h', configName: 'HISTORY-ONE' });
    await expect(store.insertWithHistory(clash, created(clash))).rejects.toMatchObject({
      code: 'CONFIG_NAME_TAKEN',
    });
    expect(
      await queryIn(schema, 'SELECT id FROM connection_history WHERE connection_id = $1', [clash.id]),
    ).toEqual([]);
  });

  it('writes creates that arrive together in shared statements, each record with its created entry', async () => {
    const { schema, store } = await openNew();
    const records = Array.from({ length: 30 }, (_, i) =>
      makeTestRecord({
        organizationId: 'org-b',
        configName: `batch-${i}`,
        metadata: { team: `t${i % 3}` },
        ...(i % 2 === 0
          ? {
              productName: 'reports',
              schema: 'sales',
              sslMode: 'verify-full',
              createdBy: 'user-1',
              updatedBy: 'user-1',
            }
          : {}),
      }),
    );
    const outcomes = await createAtOnce(store, records);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(records.map(() => 'fulfilled'));
    // Batched: fewer transactions than records (the first creates go alone, the rest wait and go together).
    expect(
      (
        await writers(
          schema,
          records.map((r) => r.id),
        )
      ).size,
    ).toBeLessThan(records.length);
    for (const record of records) {
      // Every field round-trips through the batch statement as through a lone insert.
      expect(await store.findById({ organizationId: 'org-b' }, record.id)).toEqual(record);
      expect(await store.listHistory('org-b', record.id, { limit: 10 })).toMatchObject([
        { connectionId: record.id, kind: 'change', action: 'created' },
      ]);
    }
  });

  it('answers CONFIG_NAME_TAKEN to each create of a batch whose name is taken, and stores the rest', async () => {
    const { schema, store } = await openNew();
    const taken = makeTestRecord({ organizationId: 'org-t', configName: 'already-here' });
    await store.insertWithHistory(taken, created(taken));
    const records = Array.from({ length: 12 }, (_, i) =>
      makeTestRecord({ organizationId: 'org-t', configName: `name-${i}` }),
    );
    // Two of the burst want the same name; one wants a name stored before it.
    records[6] = makeTestRecord({ organizationId: 'org-t', configName: 'twice' });
    records[9] = makeTestRecord({ organizationId: 'org-t', configName: 'TWICE' });
    records[11] = makeTestRecord({ organizationId: 'org-t', configName: 'Already-Here' });
    const outcomes = await createAtOnce(store, records);

    const refused = outcomes.flatMap((outcome, i) => (outcome.status === 'rejected' ? [i] : []));
    expect(refused).toContain(11);
    expect(refused.filter((i) => i === 6 || i === 9)).toHaveLength(1);
    expect(refused).toHaveLength(2);
    for (const i of refused) {
      expect((outcomes[i] as PromiseRejectedResult).reason).toMatchObject({ code: 'CONFIG_NAME_TAKEN' });
    }
    const stored = records.filter((_, i) => !refused.includes(i)).map((record) => record.id);
    expect((await writers(schema, stored)).size).toBeLessThan(stored.length);
    // An entry for each stored record and none for a refused one.
    const entries = await queryIn<{ connection_id: string }>(
      schema,
      'SELECT connection_id FROM connection_history WHERE connection_id <> $1',
      [taken.id],
    );
    expect(entries.map((entry) => entry.connection_id).sort()).toEqual([...stored].sort());
  });

  it('gives a create the batch statement refuses its own error, and stores the others of the batch', async () => {
    const { schema, store } = await openNew();
    const records = Array.from({ length: 10 }, (_, i) =>
      makeTestRecord({ organizationId: 'org-r', configName: `row-${i}` }),
    );
    // No column takes this port (integer): the whole batch statement fails on it.
    records[7] = makeTestRecord({ organizationId: 'org-r', configName: 'row-7', port: 2 ** 31 });
    const outcomes = await createAtOnce(store, records);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(
      records.map((_, i) => (i === 7 ? 'rejected' : 'fulfilled')),
    );
    expect(String((outcomes[7] as PromiseRejectedResult).reason)).toMatch(/out of range/);
    const ids = await queryIn<{ id: string }>(schema, 'SELECT id FROM connections ORDER BY id');
    expect(ids.map((row) => row.id)).toEqual(
      records
        .filter((_, i) => i !== 7)
        .map((r) => r.id)
        .sort(),
    );
  });

  it('recordVerificationWithHistory writes the result and its entry together, or neither (a stale dial)', async () => {
    const schema = uniqueSchema();
    schemas.push(schema);
    const store = open(schema);
    await store.init();
    const record = makeTestRecord({ organizationId: 'org-v', configName: 'verified-once' });
    await store.insert(record);
    const entry = (status: 'active' | 'failed') => ({
      id: uuidv7(),
      organizationId: 'org-v',
      connectionId: record.id,
      at: new Date(),
      kind: 'verification' as const,
      reason: 'created' as const,
      status,
      statusChanged: true,
      latencyMs: 12,
    });
    await store.markVerifying('org-v', record.id, 1);
    const checkedAt = new Date().toISOString();
    expect(
      await store.recordVerificationWithHistory(
        'org-v',
        record.id,
        1,
        'active',
        verificationResult(checkedAt),
        { statusChanged: true },
        entry('active'),
      ),
    ).toEqual({ webhooks: false });
    expect(await store.findById({ organizationId: 'org-v' }, record.id)).toMatchObject({
      status: 'active',
      verification: { outcome: 'passed', checkedAt },
      lastStatusChangeAt: expect.any(Date),
    });
    expect(await store.listHistory('org-v', record.id, { limit: 10 })).toMatchObject([
      { kind: 'verification', status: 'active', reason: 'created', statusChanged: true, latencyMs: 12 },
    ]);

    // A result of an older dialled version is stale: neither the record nor the history changes.
    expect(
      await store.recordVerificationWithHistory(
        'org-v',
        record.id,
        0,
        'failed',
        verificationResult(new Date().toISOString(), 'failed'),
        { statusChanged: true },
        entry('failed'),
      ),
    ).toBeNull();
    expect((await store.findById({ organizationId: 'org-v' }, record.id))?.status).toBe('active');
    expect(await store.listHistory('org-v', record.id, { limit: 10 })).toHaveLength(1);
  });

  it('recordVerificationWithHistory tells whether the organization has an enabled webhook endpoint', async () => {
    const schema = uniqueSchema();
    schemas.push(schema);
    const store = open(schema);
    await store.init();
    const record = makeTestRecord({ organizationId: 'org-w', configName: 'with-hooks' });
    await store.insert(record);
    let passes = 0;
    const settle = async () => {
      // Each pass is a later dial of the same settings (dialled version 1), checked a second apart.
      passes += 1;
      await store.markVerifying('org-w', record.id, 1);
      const at = new Date(Date.now() + passes * 1_000).toISOString();
      return store.recordVerificationWithHistory(
        'org-w',
        record.id,
        1,
        'active',
        verificationResult(at),
        { statusChanged: false },
        {
          id: uuidv7(),
          organizationId: 'org-w',
          connectionId: record.id,
          at: new Date(),
          kind: 'verification',
          reason: 'periodic',
          status: 'active',
          statusChanged: false,
          latencyMs: 3,
        },
      );
    };
    expect(await settle()).toEqual({ webhooks: false });
    // Another organization's endpoint is not this one's.
    await store.insertWebhook(makeTestWebhook('org-other'));
    expect(await settle()).toEqual({ webhooks: false });
    const hook = makeTestWebhook('org-w', { enabled: false });
    await store.insertWebhook(hook);
    expect(await settle()).toEqual({ webhooks: false });
    await store.updateWebhook('org-w', hook.id, { enabled: true });
    expect(await settle()).toEqual({ webhooks: true });
    await store.deleteWebhook('org-w', hook.id);
    expect(await settle()).toEqual({ webhooks: false });
  });

  it('lists a vacuumed organization and counts its matches from the covering index, not the table', async () => {
    const schema = uniqueSchema();
    schemas.push(schema);
    // One pooled client: the backend that ran the list is the one whose statistics are read below.
    const store = new PostgresConnectionStore(storeUrl(schema), { ...DEFAULT_STORE_OPTIONS, poolSize: 1 });
    stores.push(store);
    await store.init();
    const template = makeTestRecord({ organizationId: 'org-big' });
    await store.insert(template);
    await queryIn(
      schema,
      `INSERT INTO connections (id, organization_id, config_name, config_name_key, product_name, type, host,
         port, database_name, user_name, schema, ssl_mode, sealed_secrets, metadata, status, version,
         dial_version, created_at, updated_at, status_changed_at)
       SELECT gen_random_uuid(), organization_id, 'c-' || g, 'c-' || g, product_name, type, host, port,
         database_name, user_name, schema, ssl_mode, sealed_secrets,
         jsonb_build_object('team', 'team-' || (g % 5)), status, 1, 1,
         created_at - (20001 - g) * interval '1 second', updated_at, status_changed_at
       FROM generate_series(1, 20000) g, connections ORDER BY g`,
    );
    await queryIn(schema, 'VACUUM (ANALYZE) connections');
    const scans = async () =>
      (
        await queryIn<{ seq: string; covering: string }>(
          schema,
          `SELECT t.seq_scan AS seq, i.idx_scan AS covering
           FROM pg_stat_user_tables t JOIN pg_stat_user_indexes i USING (relid)
           WHERE t.schemaname = $1 AND t.relname = 'connections'
             AND i.indexrelname = 'connections_organization_created_live'`,
          [schema],
        )
      )[0];
    await store.ping();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await store.ping(); // a backend reports its statistics when it goes idle, at most once a second
    const before = await scans();

    const query = { page: 200, limit: 20, sortOrder: 'desc', metadata: { team: 'team-3' } } as const;
    const page = await store.list({ organizationId: 'org-big' }, query);
    expect(page.total).toBe(4000);
    expect(page.items).toHaveLength(20);

    await new Promise((resolve) => setTimeout(resolve, 1100));
    await store.ping();
    const after = await scans();
    // The page's ids and the total each came from one scan of the covering index...
    expect(Number(after?.covering) - Number(before?.covering)).toBe(2);
    // ...and neither read the table from end to end.
    expect(after?.seq).toBe(before?.seq);
  });

  it('refuses a schema parameter that is not a plain lower-case identifier', () => {
    expect(() => new PostgresConnectionStore(`${DATABASE_URL}?schema=bad;name`)).toThrow(/schema/);
    expect(() => new PostgresConnectionStore(`${DATABASE_URL}?schema=Upper`)).toThrow(/schema/);
  });
});
