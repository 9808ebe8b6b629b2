/**
 * The behaviour every ConnectionStore must have (docs/contract.md §10), as one vitest suite that each adapter's
 * integration test runs against a real server. It imports vitest, so it is excluded from the build
 * and never exported from the package.
 *
 * Every test works in its own organization, so tests do not see each other's records. The sweeper
 * tests (findStranded, requeue) are the exception: they read across organizations, so their records
 * use timestamps from 2000–2002, which nothing else here uses; the re-verification test likewise
 * reads across organizations and alone uses last verifications from 1998–1999; the key-rotation
 * listing reads across organizations too, and alone uses ids (UUID v7, from createdAt) of 2900.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../errors.js';
import type { ListConnectionsQuery, Verification } from '../schemas/connection.schema.js';
import { uuidv7 } from '../uuid.js';
import {
  type ConnectionRecord,
  type ConnectionStore,
  disabledAfter,
  type HistoryRecord,
  type SealedSecretsEntry,
  type WebhookRecord,
} from './types.js';

/** A complete, valid record; `overrides` replace fields. The id is a UUID v7 of `createdAt`. */
export function makeTestRecord(overrides: Partial<ConnectionRecord> = {}): ConnectionRecord {
  const createdAt = overrides.createdAt ?? new Date();
  return {
    id: uuidv7(createdAt.getTime()),
    organizationId: 'org-contract',
    configName: `connection ${uuidv7().slice(-12)}`,
    type: 'POSTGRESQL',
    host: 'db.example.invalid',
    port: 5432,
    databaseName: 'app',
    userName: 'app_user',
    sealedSecrets: 'v1.key1.iv.ciphertext',
    metadata: {},
    status: 'pending',
    version: 1,
    dialVersion: 1,
    createdAt,
    updatedAt: createdAt,
    statusChangedAt: createdAt,
    ...overrides,
  };
}

const RECORD_KEYS = [
  'id',
  'organizationId',
  'configName',
  'productName',
  'type',
  'host',
  'port',
  'databaseName',
  'userName',
  'schema',
  'sslMode',
  'sealedSecrets',
  'metadata',
  'status',
  'verification',
  'version',
  'dialVersion',
  'createdAt',
  'updatedAt',
  'statusChangedAt',
  'lastVerifiedAt',
  'createdBy',
  'updatedBy',
  'lastStatusChangeAt',
];

const newOrganization = () => `org-${uuidv7()}`;
const at = (iso: string) => new Date(iso);
const ids = (records: ConnectionRecord[]) => records.map((r) => r.id);

const verificationResult = (checkedAt: string, outcome: 'passed' | 'failed' = 'passed'): Verification => ({
  outcome,
  checkedAt,
  latencyMs: 12,
  attempts: 1,
  stages: [
    { name: 'dns', status: 'ok', durationMs: 1 },
    { name: 'tcp', status: 'ok', durationMs: 2 },
    { name: 'tls', status: 'skipped', durationMs: 0 },
    { name: 'auth', status: outcome === 'passed' ? 'ok' : 'failed', durationMs: 8, code: 'AUTH_FAILED' },
  ],
  ...(outcome === 'failed'
    ? {
        error: {
          stage: 'auth',
          code: 'AUTH_FAILED',
          message: 'the server refused the password',
          hint: 'check it',
        },
      }
    : { server: { version: 'PostgreSQL 15.8' } }),
});

async function expectAppError(promise: Promise<unknown>, code: string) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  expect((error as AppError).code).toBe(code);
}

export function describeStoreContract(
  name: string,
  makeStore: () => Promise<ConnectionStore>,
  cleanup: (store: ConnectionStore) => Promise<void>,
) {
  describe(`${name} store contract`, () => {
    let store: ConnectionStore;

    beforeAll(async () => {
      store = await makeStore();
      await store.init();
    });

    afterAll(async () => {
      if (store) await cleanup(store);
    });

    const query = (q: Partial<ListConnectionsQuery> = {}): ListConnectionsQuery => ({
      page: 1,
      limit: 100,
      sortOrder: 'asc',
      ...q,
    });

    /** Inserts records for one organization and returns them. */
    async function seed(organizationId: string, ...overrides: Partial<ConnectionRecord>[]) {
      const records = overrides.map((o) => makeTestRecord({ organizationId, ...o }));
      for (const record of records) await store.insert(record);
      return records;
    }

    it('answers ping', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    describe('insert and findById', () => {
      it('returns a full record exactly as inserted, with no storage fields', async () => {
        const organizationId = newOrganization();
        const record = makeTestRecord({
          organizationId,
          configName: 'Orders DB',
          productName: 'reporter',
          type: 'MYSQL',
          host: '10.0.0.7',
          port: 3306,
          schema: 'sales',
          sslMode: 'verify-full',
          sealedSecrets: 'v3.key7.aXY.Y2lwaGVy',
          metadata: { team: 'core', empty: '', 'app.tier': 'web', $odd: 'dollar' },
          status: 'active',
          verification: verificationResult('2024-05-01T10:00:00.000Z'),
          version: 4,
          dialVersion: 2,
          createdAt: at('2024-05-01T09:00:00.123Z'),
          updatedAt: at('2024-05-01T10:00:01.456Z'),
          statusChangedAt: at('2024-05-01T10:00:01.000Z'),
          lastVerifiedAt: at('2024-05-01T10:00:00.000Z'),
          createdBy: 'acme/alice',
          updatedBy: 'service-reporter',
        });
        await store.insert(record);
        const found = await store.findById({ organizationId }, record.id);
        expect(found).toEqual(record);
        expect(found?.createdAt).toBeInstanceOf(Date);
        expect(Object.keys(found ?? {}).filter((k) => !RECORD_KEYS.includes(k))).toEqual([]);
      });

      it('leaves optional fields absent when they were not set', async () => {
        const organizationId = newOrganization();
        const [record] = await seed(organizationId, {});
        const found = await store.findById({ organizationId }, record?.id ?? '');
        expect(found).toEqual(record);
        for (const key of [
          'productName',
          'schema',
          'sslMode',
          'verification',
          'lastVerifiedAt',
          'createdBy',
          'updatedBy',
          'lastStatusChangeAt',
        ]) {
          expect(found?.[key as keyof ConnectionRecord]).toBeUndefined();
        }
        expect(found?.metadata).toEqual({});
      });

      it('finds by id in any letter case, and null for an unknown or malformed id', async () => {
        const organizationId = newOrganization();
        const [record] = await seed(organizationId, {});
        const id = record?.id ?? '';
        expect((await store.findById({ organizationId }, id.toUpperCase()))?.id).toBe(id);
        expect(await store.findById({ organizationId }, uuidv7())).toBeNull();
        expect(await store.findById({ organizationId }, 'not-a-uuid')).toBeNull();
      });

      it('hides a record from another organization and from another product', async () => {
        const organizationId = newOrganization();
        const [withProduct, withoutProduct] = await seed(organizationId, { productName: 'alpha' }, {});
        const a = withProduct?.id ?? '';
        const b = withoutProduct?.id ?? '';
        expect(await store.findById({ organizationId: newOrganization() }, a)).toBeNull();
        expect(await store.findById({ organizationId, productName: 'beta' }, a)).toBeNull();
        expect(await store.findById({ organizationId, productName: 'alpha' }, b)).toBeNull();
        expect((await store.findById({ organizationId, productName: 'alpha' }, a))?.id).toBe(a);
        expect((await store.findById({ organizationId }, a))?.id).toBe(a);
        expect((await store.findById({ organizationId }, b))?.id).toBe(b);
      });
    });

    describe('findByConfigName', () => {
      it('finds the live connection by name in any case, within organization and product', async () => {
        const organizationId = newOrganization();
        const [record] = await seed(organizationId, { configName: 'Warehouse', productName: 'alpha' });
        expect((await store.findByConfigName({ organizationId }, ' WAREHOUSE '))?.id).toBe(record?.id);
        expect(
          (await store.findByConfigName({ organizationId, productName: 'alpha' }, 'warehouse'))?.id,
        ).toBe(record?.id);
        expect(await store.findByConfigName({ organizationId, productName: 'beta' }, 'warehouse')).toBeNull();
        expect(await store.findByConfigName({ organizationId: newOrganization() }, 'warehouse')).toBeNull();
        await store.softDelete({ organizationId }, record?.id as string);
        expect(await store.findByConfigName({ organizationId }, 'warehouse')).toBeNull();
      });
    });

    describe('configName uniqueness', () => {
      it('refuses a live name of the same organization in any case or padding', async () => {
        const organizationId = newOrganization();
        await seed(organizationId, { configName: 'Sales DB' });
        for (const configName of ['Sales DB', 'sales db', 'SALES DB', '  sales DB ']) {
          await expectAppError(
            store.insert(makeTestRecord({ organizationId, configName })),
            'CONFIG_NAME_TAKEN',
          );
        }
        expect((await store.list({ organizationId }, query())).total).toBe(1);
      });

      it('allows the same name in another organization and a different name in the same one', async () => {
        const organizationId = newOrganization();
        await seed(organizationId, { configName: 'Sales DB' });
        await expect(
          store.insert(makeTestRecord({ organizationId: newOrganization(), configName: 'Sales DB' })),
        ).resolves.toBeUndefined();
        await expect(
          store.insert(makeTestRecord({ organizationId, configName: 'Sales DB 2' })),
        ).resolves.toBeUndefined();
      });

      it('lets exactly one of several concurrent inserts of one name win', async () => {
        const organizationId = newOrganization();
        const names = ['Race', 'race', 'RACE', ' Race ', 'rAcE', 'race '];
        const results = await Promise.allSettled(
          names.map((configName) => store.insert(makeTestRecord({ organizationId, configName }))),
        );
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        for (const r of results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')) {
          expect(r.reason).toBeInstanceOf(AppError);
          expect((r.reason as AppError).code).toBe('CONFIG_NAME_TAKEN');
        }
        expect((await store.list({ organizationId }, query())).total).toBe(1);
      });
    });

    describe('softDelete', () => {
      it('hides the record, frees its name, and answers false the second time', async () => {
        const organizationId = newOrganization();
        const [record] = await seed(organizationId, { configName: 'Billing' });
        const id = record?.id ?? '';
        expect(await store.softDelete({ organizationId }, id)).toBe(true);
        expect(await store.findById({ organizationId }, id)).toBeNull();
        expect((await store.list({ organizationId }, query())).total).toBe(0);
        expect(await store.softDelete({ organizationId }, id)).toBe(false);

        const again = makeTestRecord({ organizationId, configName: 'BILLING' });
        await store.insert(again);
        expect((await store.findById({ organizationId }, again.id))?.configName).toBe('BILLING');
        await expectAppError(
          store.insert(makeTestRecord({ organizationId, configName: 'billing' })),
          'CONFIG_NAME_TAKEN',
        );
      });

      it('answers false for an unknown id, another organization or another product, and keeps the record', async () => {
        const organizationId = newOrganization();
        const [record] = await seed(organizationId, { productName: 'alpha' });
        const id = record?.id ?? '';
        expect(await store.softDelete({ organizationId }, uuidv7())).toBe(false);
        expect(await store.softDelete({ organizationId }, 'not-a-uuid')).toBe(false);
        expect(await store.softDelete({ organizationId: newOrganization() }, id)).toBe(false);
        expect(await store.softDelete({ organizationId, productName: 'beta' }, id)).toBe(false);
        expect(await store.findById({ organizationId }, id)).toEqual(record);
        expect(await store.softDelete({ organizationId, productName: 'alpha' }, id)).toBe(true);
      });
    });

    describe('list', () => {
      it('scopes by organization and product (from the scope or the query) and excludes deleted', async () => {
        const organizationId = newOrganization();
        const [a1, a2, b1, none, deleted] = await seed(
          organizationId,
          { productName: 'alpha' },
          { productName: 'alpha' },
          { productName: 'beta' },
          {},
          { productName: 'alpha' },
        );
        await seed(newOrganization(), { productName: 'alpha' });
        await store.softDelete({ organizationId }, deleted?.id ?? '');

        const all = await store.list({ organizationId }, query());
        expect(all.total).toBe(4);
        expect(new Set(ids(all.items))).toEqual(new Set(ids([a1, a2, b1, none] as ConnectionRecord[])));

        const alpha = await store.list({ organizationId, productName: 'alpha' }, query());
        expect(new Set(ids(alpha.items))).toEqual(new Set(ids([a1, a2] as ConnectionRecord[])));
        expect(alpha.total).toBe(2);

        const byQuery = await store.list({ organizationId }, query({ productName: 'beta' }));
        expect(ids(byQuery.items)).toEqual([b1?.id]);
        expect(byQuery.total).toBe(1);

        const contradictory = await store.list(
          { organizationId, productName: 'alpha' },
          query({ productName: 'beta' }),
        );
        expect(contradictory).toEqual({ items: [], total: 0 });

        expect(await store.list({ organizationId: newOrganization() }, query())).toEqual({
          items: [],
          total: 0,
        });
      });

      it('filters by type and by status', async () => {
        const organizationId = newOrganization();
        const [pgActive, pgFailed, mysqlActive] = await seed(
          organizationId,
          { type: 'POSTGRESQL', status: 'active' },
          { type: 'POSTGRESQL', status: 'failed' },
          { type: 'MYSQL', status: 'active' },
          { type: 'ORACLE', status: 'pending' },
        );
        const byType = await store.list({ organizationId }, query({ type: 'POSTGRESQL' }));
        expect(new Set(ids(byType.items))).toEqual(new Set([pgActive?.id, pgFailed?.id]));
        expect(byType.total).toBe(2);
        const byStatus = await store.list({ organizationId }, query({ status: 'active' }));
        expect(new Set(ids(byStatus.items))).toEqual(new Set([pgActive?.id, mysqlActive?.id]));
        const both = await store.list({ organizationId }, query({ type: 'POSTGRESQL', status: 'active' }));
        expect(ids(both.items)).toEqual([pgActive?.id]);
        expect((await store.list({ organizationId }, query({ type: 'MONGODB' }))).total).toBe(0);
      });

      it('matches metadata exactly, every given key ANDed, including keys with dots and dollars', async () => {
        const organizationId = newOrganization();
        const [coreProd, coreDev, , dotted] = await seed(
          organizationId,
          { metadata: { team: 'core', env: 'prod' } },
          { metadata: { team: 'core', env: 'dev' } },
          { metadata: { team: 'edge', env: 'prod' } },
          { metadata: { 'app.tier': 'web', $owner: 'ops', team: 'core ' } },
          {},
        );
        const list = (metadata: Record<string, string>) =>
          store.list({ organizationId }, query({ metadata }));
        expect(ids((await list({ team: 'core', env: 'prod' })).items)).toEqual([coreProd?.id]);
        expect((await list({ team: 'core', env: 'prod' })).total).toBe(1);
        expect(new Set(ids((await list({ team: 'core' })).items))).toEqual(
          new Set([coreProd?.id, coreDev?.id]),
        );
        expect((await list({ team: 'Core' })).total).toBe(0);
        expect((await list({ team: 'cor' })).total).toBe(0);
        expect((await list({ team: 'core', missing: 'x' })).total).toBe(0);
        expect(ids((await list({ 'app.tier': 'web' })).items)).toEqual([dotted?.id]);
        expect(ids((await list({ $owner: 'ops' })).items)).toEqual([dotted?.id]);
        expect((await list({ app: 'web' })).total).toBe(0);
        expect((await list({})).total).toBe(5);
      });

      it('filters createdAt by whole UTC days, both ends inclusive', async () => {
        const organizationId = newOrganization();
        const [beforeDay, dayStart, dayEnd, nextDay] = await seed(
          organizationId,
          { createdAt: at('2024-02-29T23:59:59.999Z') },
          { createdAt: at('2024-03-01T00:00:00.000Z') },
          { createdAt: at('2024-03-01T23:59:59.999Z') },
          { createdAt: at('2024-03-02T00:00:00.000Z') },
        );
        const list = async (q: Partial<ListConnectionsQuery>) =>
          ids((await store.list({ organizationId }, query(q))).items);
        expect(await list({ startDate: '2024-03-01', endDate: '2024-03-01' })).toEqual([
          dayStart?.id,
          dayEnd?.id,
        ]);
        expect(await list({ startDate: '2024-03-01' })).toEqual([dayStart?.id, dayEnd?.id, nextDay?.id]);
        expect(await list({ endDate: '2024-03-01' })).toEqual([beforeDay?.id, dayStart?.id, dayEnd?.id]);
        expect(await list({ endDate: '2024-02-29' })).toEqual([beforeDay?.id]);
        expect(await list({ startDate: '2024-03-02' })).toEqual([nextDay?.id]);
        expect(await list({ startDate: '2024-03-03' })).toEqual([]);
        expect(
          (await store.list({ organizationId }, query({ startDate: '2024-02-29', endDate: '2024-03-02' })))
            .total,
        ).toBe(4);
      });

      it('sorts by createdAt then id in both orders', async () => {
        const organizationId = newOrganization();
        const tie = at('2024-06-01T12:00:00.000Z');
        const records = await seed(
          organizationId,
          { createdAt: at('2024-06-02T00:00:00.000Z') },
          { createdAt: tie },
          { createdAt: tie },
          { createdAt: tie },
          { createdAt: at('2024-05-31T00:00:00.000Z') },
        );
        const expected = [...records]
          .sort(
            (x, y) =>
              x.createdAt.getTime() - y.createdAt.getTime() || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0),
          )
          .map((r) => r.id);
        const asc = await store.list({ organizationId }, query({ sortOrder: 'asc' }));
        expect(ids(asc.items)).toEqual(expected);
        const desc = await store.list({ organizationId }, query({ sortOrder: 'desc' }));
        expect(ids(desc.items)).toEqual([...expected].reverse());
      });

      it('pages with limit and reports the total of all matches', async () => {
        const organizationId = newOrganization();
        const records = await seed(
          organizationId,
          ...[1, 2, 3, 4, 5].map((d) => ({
            createdAt: at(`2024-07-0${d}T08:00:00.000Z`),
            status: 'active' as const,
          })),
          { createdAt: at('2024-07-06T08:00:00.000Z'), status: 'failed' },
        );
        const page = async (p: number, sortOrder: 'asc' | 'desc' = 'asc') =>
          store.list({ organizationId }, query({ page: p, limit: 2, sortOrder, status: 'active' }));
        expect(await page(1)).toEqual({ items: records.slice(0, 2), total: 5 });
        expect(ids((await page(2)).items)).toEqual(ids(records.slice(2, 4)));
        expect(await page(3)).toEqual({ items: records.slice(4, 5), total: 5 });
        expect(await page(4)).toEqual({ items: [], total: 5 });
        expect(ids((await page(1, 'desc')).items)).toEqual(
          ids([records[4], records[3]] as ConnectionRecord[]),
        );
      });
    });

    describe('update', () => {
      const base = () =>
        makeTestRecord({
          configName: 'Warehouse',
          schema: 'public',
          sslMode: 'require',
          status: 'active',
          verification: verificationResult('2024-01-01T00:00:05.000Z'),
          lastVerifiedAt: at('2024-01-01T00:00:05.000Z'),
          createdAt: at('2024-01-01T00:00:00.000Z'),
          version: 3,
          dialVersion: 2,
        });

      it('applies changes at the expected version: version +1, updatedAt now, dialVersion kept', async () => {
        const organizationId = newOrganization();
        const record = { ...base(), organizationId };
        await store.insert(record);
        const updated = await store.update(
          { organizationId },
          record.id,
          { metadata: { owner: 'data' }, redial: false },
          3,
        );
        expect(updated).toEqual({
          ...record,
          metadata: { owner: 'data' },
          version: 4,
          updatedAt: updated?.updatedAt,
        });
        expect(updated?.updatedAt.getTime()).toBeGreaterThan(record.updatedAt.getTime());
        expect(await store.findById({ organizationId }, record.id)).toEqual(updated);
        // Without an expected version the change always applies.
        expect(
          (await store.update({ organizationId }, record.id, { host: 'db2.example.invalid', redial: false }))
            ?.version,
        ).toBe(5);
      });

      it('returns null and changes nothing at a wrong version, or for a missing, deleted or hidden record', async () => {
        const organizationId = newOrganization();
        const record = { ...base(), organizationId, productName: 'alpha' };
        const gone = { ...base(), organizationId, configName: 'Gone' };
        await store.insert(record);
        await store.insert(gone);
        await store.softDelete({ organizationId }, gone.id);
        const change = { metadata: { a: 'b' }, redial: false };
        expect(await store.update({ organizationId }, record.id, change, 2)).toBeNull();
        expect(await store.update({ organizationId }, record.id, change, 4)).toBeNull();
        expect(await store.update({ organizationId }, uuidv7(), change)).toBeNull();
        expect(await store.update({ organizationId }, 'not-a-uuid', change)).toBeNull();
        expect(await store.update({ organizationId }, gone.id, change)).toBeNull();
        expect(await store.update({ organizationId: newOrganization() }, record.id, change)).toBeNull();
        expect(await store.update({ organizationId, productName: 'beta' }, record.id, change)).toBeNull();
        expect(await store.findById({ organizationId }, record.id)).toEqual(record);
      });

      it('on redial bumps dialVersion, sets pending now and keeps the last verification', async () => {
        const organizationId = newOrganization();
        const record = { ...base(), organizationId };
        await store.insert(record);
        const updated = await store.update(
          { organizationId },
          record.id,
          { host: 'db9.example.invalid', port: 6543, sealedSecrets: 'v1.key1.iv.new', redial: true },
          3,
        );
        expect(updated).toMatchObject({
          host: 'db9.example.invalid',
          port: 6543,
          sealedSecrets: 'v1.key1.iv.new',
          status: 'pending',
          version: 4,
          dialVersion: 3,
          verification: record.verification,
          lastVerifiedAt: record.lastVerifiedAt,
        });
        expect(updated?.statusChangedAt.getTime()).toBeGreaterThan(record.statusChangedAt.getTime());
      });

      it('on a metadata-only change keeps dialVersion, status and statusChangedAt', async () => {
        const organizationId = newOrganization();
        const record = { ...base(), organizationId };
        await store.insert(record);
        const updated = await store.update({ organizationId }, record.id, { metadata: {}, redial: false });
        expect(updated).toMatchObject({ status: 'active', dialVersion: 2, version: 4, metadata: {} });
        expect(updated?.statusChangedAt).toEqual(record.statusChangedAt);
      });

      it('removes schema and sslMode given as undefined, and leaves them alone when absent', async () => {
        const organizationId = newOrganization();
        const record = { ...base(), organizationId };
        await store.insert(record);
        const kept = await store.update({ organizationId }, record.id, { userName: 'other', redial: true });
        expect(kept).toMatchObject({ schema: 'public', sslMode: 'require', userName: 'other' });
        const removed = await store.update({ organizationId }, record.id, {
          schema: undefined,
          sslMode: undefined,
          redial: true,
        });
        expect(removed?.schema).toBeUndefined();
        expect(removed?.sslMode).toBeUndefined();
        expect(removed?.userName).toBe('other');
        const found = await store.findById({ organizationId }, record.id);
        expect(found).toEqual(removed);
      });

      it('records who made each change: createdBy stays, updatedBy is the last subject, cleared by an anonymous change', async () => {
        const organizationId = newOrganization();
        const record = { ...base(), organizationId, createdBy: 'acme/alice', updatedBy: 'acme/alice' };
        await store.insert(record);
        const byBob = await store.update({ organizationId }, record.id, {
          metadata: { a: 'b' },
          redial: false,
          updatedBy: 'acme/bob',
        });
        expect(byBob).toMatchObject({ createdBy: 'acme/alice', updatedBy: 'acme/bob', version: 4 });
        expect(await store.findById({ organizationId }, record.id)).toEqual(byBob);

        // The worker's writes are nobody's change: both names stay.
        expect(await store.markVerifying(organizationId, record.id, 2)).not.toBeNull();
        const result = verificationResult('2024-01-02T00:00:00.000Z');
        expect(await store.recordVerification(organizationId, record.id, 2, 'active', result)).toBe(true);
        expect(await store.findById({ organizationId }, record.id)).toMatchObject({
          createdBy: 'acme/alice',
          updatedBy: 'acme/bob',
        });

        const anonymous = await store.update({ organizationId }, record.id, {
          host: 'h2.invalid',
          redial: true,
        });
        expect(anonymous?.createdBy).toBe('acme/alice');
        expect(anonymous?.updatedBy).toBeUndefined();
        expect(await store.findById({ organizationId }, record.id)).toEqual(anonymous);
      });

      it('sets a product, after which other products cannot see it', async () => {
        const organizationId = newOrganization();
        const record = { ...base(), organizationId };
        await store.insert(record);
        const assigned = await store.update(
          { organizationId },
          record.id,
          { productName: 'gamma', redial: false },
          3,
        );
        expect(assigned?.productName).toBe('gamma');
        expect(await store.findById({ organizationId, productName: 'delta' }, record.id)).toBeNull();
        expect((await store.findById({ organizationId, productName: 'gamma' }, record.id))?.version).toBe(4);
      });

      it('scope productName null means "without a product": lists them and assigns once', async () => {
        const organizationId = newOrganization();
        const [unassigned, owned] = await seed(
          organizationId,
          { configName: 'free-one', productName: undefined },
          { configName: 'owned-one', productName: 'alpha' },
        );
        const free = await store.list({ organizationId, productName: null }, query());
        expect(free.items.map((r) => r.id)).toEqual([unassigned?.id]);
        expect(free.total).toBe(1);
        expect(await store.findById({ organizationId, productName: null }, owned?.id as string)).toBeNull();
        const first = await store.update({ organizationId, productName: null }, unassigned?.id as string, {
          productName: 'beta',
          redial: false,
        });
        expect(first?.productName).toBe('beta');
        const second = await store.update({ organizationId, productName: null }, unassigned?.id as string, {
          productName: 'gamma',
          redial: false,
        });
        expect(second).toBeNull();
        expect((await store.findById({ organizationId }, unassigned?.id as string))?.productName).toBe(
          'beta',
        );
        expect((await store.list({ organizationId, productName: null }, query())).total).toBe(0);
      });

      it('renames: refuses a taken name in any case, accepts its own name in a new case, frees the old one', async () => {
        const organizationId = newOrganization();
        const [alpha, beta] = await seed(organizationId, { configName: 'Alpha' }, { configName: 'Beta' });
        const alphaId = alpha?.id ?? '';
        const betaId = beta?.id ?? '';
        await expectAppError(
          store.update({ organizationId }, betaId, { configName: 'ALPHA', redial: false }),
          'CONFIG_NAME_TAKEN',
        );
        expect(await store.findById({ organizationId }, betaId)).toEqual(beta);

        expect(
          (await store.update({ organizationId }, betaId, { configName: 'BETA', redial: false }))?.configName,
        ).toBe('BETA');
        expect(
          (await store.update({ organizationId }, alphaId, { configName: 'Gamma', redial: false }))
            ?.configName,
        ).toBe('Gamma');
        await expect(
          store.insert(makeTestRecord({ organizationId, configName: 'alpha' })),
        ).resolves.toBeUndefined();
        await expectAppError(
          store.insert(makeTestRecord({ organizationId, configName: 'gamma' })),
          'CONFIG_NAME_TAKEN',
        );
        await expectAppError(
          store.insert(makeTestRecord({ organizationId, configName: 'beta' })),
          'CONFIG_NAME_TAKEN',
        );
      });
    });

    describe('markVerifying and recordVerification', () => {
      it('markVerifying takes the record from any status while dialVersion matches, without a new version', async () => {
        const organizationId = newOrganization();
        const createdAt = at('2024-02-01T00:00:00.000Z');
        const records = await seed(
          organizationId,
          { status: 'pending', dialVersion: 3, createdAt },
          { status: 'active', dialVersion: 3, createdAt },
          { status: 'failed', dialVersion: 3, createdAt },
          { status: 'verifying', dialVersion: 3, createdAt },
        );
        for (const record of records) {
          const taken = await store.markVerifying(organizationId, record.id, 3);
          expect(taken).toEqual({ ...record, status: 'verifying', statusChangedAt: taken?.statusChangedAt });
          expect(taken?.statusChangedAt.getTime()).toBeGreaterThan(createdAt.getTime());
          expect(await store.findById({ organizationId }, record.id)).toEqual(taken);
        }
      });

      it('markVerifying returns null and changes nothing when stale, deleted or of another organization', async () => {
        const organizationId = newOrganization();
        const [record, deleted] = await seed(organizationId, { dialVersion: 2 }, { dialVersion: 2 });
        const id = record?.id ?? '';
        await store.softDelete({ organizationId }, deleted?.id ?? '');
        expect(await store.markVerifying(organizationId, id, 1)).toBeNull();
        expect(await store.markVerifying(organizationId, id, 3)).toBeNull();
        expect(await store.markVerifying(newOrganization(), id, 2)).toBeNull();
        expect(await store.markVerifying(organizationId, deleted?.id ?? '', 2)).toBeNull();
        expect(await store.markVerifying(organizationId, uuidv7(), 2)).toBeNull();
        expect(await store.findById({ organizationId }, id)).toEqual(record);
      });

      it('markVerifying with unlessSettledSince leaves a record settled by a dial that started since then', async () => {
        const organizationId = newOrganization();
        const [settled, older, pending] = await seed(
          organizationId,
          { status: 'active', dialVersion: 2, lastVerifiedAt: at('2024-02-01T00:05:00.000Z') },
          { status: 'failed', dialVersion: 2, lastVerifiedAt: at('2024-02-01T00:04:59.999Z') },
          { status: 'pending', dialVersion: 2 },
        );
        const since = at('2024-02-01T00:05:00.000Z');
        // Its result is from a dial that started at (or after) the job's creation: a re-run.
        expect(
          await store.markVerifying(organizationId, settled?.id ?? '', 2, { unlessSettledSince: since }),
        ).toBeNull();
        expect(await store.findById({ organizationId }, settled?.id ?? '')).toEqual(settled);
        // An older result, or none yet, is no reason to skip the dial.
        for (const record of [older, pending]) {
          const taken = await store.markVerifying(organizationId, record?.id ?? '', 2, {
            unlessSettledSince: since,
          });
          expect(taken?.status).toBe('verifying');
        }
      });

      it('recordVerification stores the result and status while dialVersion matches, without a new version', async () => {
        const organizationId = newOrganization();
        const [record] = await seed(organizationId, {
          status: 'verifying',
          dialVersion: 4,
          version: 6,
          createdAt: at('2024-02-01T00:00:00.000Z'),
        });
        const id = record?.id ?? '';
        const result = verificationResult('2024-02-01T00:05:00.250Z', 'failed');
        expect(await store.recordVerification(organizationId, id, 4, 'failed', result)).toBe(true);
        const found = await store.findById({ organizationId }, id);
        expect(found).toEqual({
          ...record,
          status: 'failed',
          verification: result,
          lastVerifiedAt: at('2024-02-01T00:05:00.250Z'),
          statusChangedAt: found?.statusChangedAt,
          updatedAt: found?.updatedAt,
        });
        expect(found?.statusChangedAt.getTime()).toBeGreaterThan(
          record?.statusChangedAt.getTime() ?? Infinity,
        );
        expect(found?.updatedAt.getTime()).toBeGreaterThan(record?.updatedAt.getTime() ?? Infinity);

        const passed = verificationResult('2024-02-01T00:06:00.000Z');
        expect(await store.recordVerification(organizationId, id, 4, 'active', passed)).toBe(true);
        expect(await store.findById({ organizationId }, id)).toMatchObject({
          status: 'active',
          verification: passed,
          version: 6,
        });
      });

      it('recordVerification returns false and changes nothing when stale, deleted or of another organization', async () => {
        const organizationId = newOrganization();
        const [record, deleted] = await seed(
          organizationId,
          { status: 'verifying', dialVersion: 2 },
          { status: 'verifying', dialVersion: 2 },
        );
        const id = record?.id ?? '';
        await store.softDelete({ organizationId }, deleted?.id ?? '');
        const result = verificationResult('2024-02-01T00:05:00.000Z');
        expect(await store.recordVerification(organizationId, id, 1, 'active', result)).toBe(false);
        expect(await store.recordVerification(organizationId, id, 3, 'active', result)).toBe(false);
        expect(await store.recordVerification(newOrganization(), id, 2, 'active', result)).toBe(false);
        expect(await store.recordVerification(organizationId, deleted?.id ?? '', 2, 'active', result)).toBe(
          false,
        );
        expect(await store.findById({ organizationId }, id)).toEqual(record);
      });

      it('keeps the result of the later dial when two dials of the same settings end out of order', async () => {
        const organizationId = newOrganization();
        const [record] = await seed(organizationId, { status: 'verifying', dialVersion: 1 });
        const id = record?.id ?? '';
        // A test started at :01 passed and was recorded; a periodic dial started at :00 ends later.
        const later = verificationResult('2024-03-01T00:00:01.000Z');
        const earlier = verificationResult('2024-03-01T00:00:00.000Z', 'failed');
        expect(await store.recordVerification(organizationId, id, 1, 'active', later)).toBe(true);
        expect(await store.recordVerification(organizationId, id, 1, 'failed', earlier)).toBe(false);
        expect(await store.findById({ organizationId }, id)).toMatchObject({
          status: 'active',
          verification: later,
          lastVerifiedAt: at('2024-03-01T00:00:01.000Z'),
        });
        // The same start again, or a later one, is recorded.
        expect(await store.recordVerification(organizationId, id, 1, 'active', later)).toBe(true);
        // A record taken again (pending after a redial, or verifying) takes any result of its dial,
        // however the workers' clocks compare: nothing may strand it.
        await store.update({ organizationId }, id, { port: 6543, redial: true });
        const skewed = verificationResult('2024-02-29T23:59:00.000Z');
        expect(await store.recordVerification(organizationId, id, 2, 'active', skewed)).toBe(true);
        expect((await store.findById({ organizationId }, id))?.lastVerifiedAt).toEqual(
          at('2024-02-29T23:59:00.000Z'),
        );
      });

      it('discards the result of a verification overtaken by a redial', async () => {
        const organizationId = newOrganization();
        const [record] = await seed(organizationId, { status: 'pending', dialVersion: 1 });
        const id = record?.id ?? '';
        expect((await store.markVerifying(organizationId, id, 1))?.status).toBe('verifying');
        const redialled = await store.update({ organizationId }, id, { port: 5433, redial: true });
        expect(redialled).toMatchObject({ status: 'pending', dialVersion: 2 });
        expect(
          await store.recordVerification(
            organizationId,
            id,
            1,
            'active',
            verificationResult(new Date().toISOString()),
          ),
        ).toBe(false);
        expect(await store.findById({ organizationId }, id)).toEqual(redialled);
        // A metadata-only edit does not invalidate the verification in flight.
        await store.markVerifying(organizationId, id, 2);
        await store.update({ organizationId }, id, { metadata: { k: 'v' }, redial: false });
        expect(
          await store.recordVerification(
            organizationId,
            id,
            2,
            'active',
            verificationResult(new Date().toISOString()),
          ),
        ).toBe(true);
        expect(await store.findById({ organizationId }, id)).toMatchObject({
          status: 'active',
          metadata: { k: 'v' },
        });
      });
    });

    describe('sweeper', () => {
      it('findStranded returns live pending/verifying records older than the cut-off, oldest first', async () => {
        const organizationId = newOrganization();
        const otherOrganization = newOrganization();
        const old = (iso: string) => ({ createdAt: at(iso), statusChangedAt: at(iso) });
        const [oldestVerifying, olderPending, , , deleted] = await seed(
          organizationId,
          { status: 'verifying', ...old('2001-01-01T00:00:00.000Z') },
          { status: 'pending', ...old('2001-01-02T00:00:00.000Z') },
          { status: 'active', ...old('2001-01-01T00:00:00.000Z') },
          { status: 'failed', ...old('2001-01-01T00:00:00.000Z') },
          { status: 'pending', ...old('2001-01-01T00:00:00.000Z') },
          { status: 'pending', ...old('2001-03-01T00:00:00.000Z') },
          { status: 'pending', ...old('2001-04-01T00:00:00.000Z') },
        );
        const [otherOrganizationPending] = await seed(otherOrganization, {
          status: 'pending',
          ...old('2001-01-03T00:00:00.000Z'),
        });
        await store.softDelete({ organizationId }, deleted?.id ?? '');

        const cutOff = at('2001-03-01T00:00:00.000Z');
        const stranded = await store.findStranded(cutOff, 100);
        expect(ids(stranded)).toEqual(
          ids([oldestVerifying, olderPending, otherOrganizationPending] as ConnectionRecord[]),
        );
        expect(stranded[0]).toEqual(oldestVerifying);
        expect(ids(await store.findStranded(cutOff, 1))).toEqual([oldestVerifying?.id]);
        expect(await store.findStranded(at('2001-01-01T00:00:00.000Z'), 100)).toEqual([]);

        // Paging: after a position, only what comes later in (statusChangedAt, id) order.
        const first = stranded[0] as ConnectionRecord;
        const after = (r: ConnectionRecord) => ({ statusChangedAt: r.statusChangedAt, id: r.id });
        expect(ids(await store.findStranded(cutOff, 100, after(first)))).toEqual(ids(stranded.slice(1)));
        expect(ids(await store.findStranded(cutOff, 1, after(first)))).toEqual([olderPending?.id]);
        expect(await store.findStranded(cutOff, 100, after(stranded.at(-1) as ConnectionRecord))).toEqual([]);
        // Same statusChangedAt: the id breaks the tie.
        const [tieA, tieB] = await seed(
          organizationId,
          { status: 'pending', ...old('2001-01-05T00:00:00.000Z') },
          { status: 'pending', ...old('2001-01-05T00:00:00.000Z') },
        );
        const [low, high] = [tieA, tieB].sort((a, b) => ((a?.id ?? '') < (b?.id ?? '') ? -1 : 1));
        const page = await store.findStranded(cutOff, 100, after(low as ConnectionRecord));
        expect(ids(page)).toContain(high?.id);
        expect(ids(page)).not.toContain(low?.id);
      });

      it('requeue sets pending and touches statusChangedAt, only while dialVersion matches, pending/verifying and still stale', async () => {
        const organizationId = newOrganization();
        const old = {
          createdAt: at('2002-01-01T00:00:00.000Z'),
          statusChangedAt: at('2002-01-01T00:00:00.000Z'),
        };
        const [verifying, pending, active, deleted] = await seed(
          organizationId,
          { status: 'verifying', dialVersion: 5, version: 7, ...old },
          { status: 'pending', dialVersion: 1, ...old },
          { status: 'active', dialVersion: 1, ...old },
          { status: 'pending', dialVersion: 1, ...old },
        );
        await store.softDelete({ organizationId }, deleted?.id ?? '');
        const cutOff = at('2002-06-01T00:00:00.000Z');
        const strandedOfOrganization = async () =>
          new Set(
            ids((await store.findStranded(cutOff, 1000)).filter((r) => r.organizationId === organizationId)),
          );
        expect(await strandedOfOrganization()).toEqual(new Set([verifying?.id, pending?.id]));

        const verifyingId = verifying?.id ?? '';
        expect(await store.requeue(organizationId, verifyingId, 4, cutOff)).toBe(false);
        expect(await store.requeue(newOrganization(), verifyingId, 5, cutOff)).toBe(false);
        // Taken by a job since the sweep read it: no longer stale before the cut-off, left alone.
        expect(await store.requeue(organizationId, verifyingId, 5, at('2001-06-01T00:00:00.000Z'))).toBe(
          false,
        );
        expect(await store.findById({ organizationId }, verifyingId)).toEqual(verifying);
        expect(await store.requeue(organizationId, verifyingId, 5, cutOff)).toBe(true);
        const requeued = await store.findById({ organizationId }, verifyingId);
        expect(requeued).toEqual({
          ...verifying,
          status: 'pending',
          statusChangedAt: requeued?.statusChangedAt,
        });
        expect(requeued?.statusChangedAt.getTime()).toBeGreaterThan(cutOff.getTime());

        expect(await store.requeue(organizationId, pending?.id ?? '', 1, cutOff)).toBe(true);
        expect(await store.requeue(organizationId, active?.id ?? '', 1, cutOff)).toBe(false);
        expect(await store.requeue(organizationId, deleted?.id ?? '', 1, cutOff)).toBe(false);
        expect((await store.findById({ organizationId }, active?.id ?? ''))?.status).toBe('active');
        expect(await strandedOfOrganization()).toEqual(new Set());
      });
    });

    describe('key rotation', () => {
      /** Ids of 2900 sort after every other record of this suite (uuidv7 starts with the time). */
      const year2900 = (day: number) => ({ createdAt: at(`2900-01-0${day}T00:00:00.000Z`) });
      /** Every entry from `after` on, fetched `limit` at a time as the re-sealing command does. */
      async function listAll(after: string | undefined, limit: number) {
        const entries: SealedSecretsEntry[] = [];
        for (;;) {
          const page = await store.listSealed(after, limit);
          entries.push(...page);
          if (page.length < limit) return entries;
          after = page.at(-1)?.id;
        }
      }

      it('listSealed pages live records of every organization by id, with only id, organization and secrets', async () => {
        const organizationId = newOrganization();
        const otherOrganization = newOrganization();
        const [first, second, deleted, fourth] = await seed(
          organizationId,
          { ...year2900(1), sealedSecrets: 'v1.a.b.first' },
          { ...year2900(2), sealedSecrets: 'v1.a.b.second' },
          { ...year2900(3), sealedSecrets: 'v1.a.b.deleted' },
          { ...year2900(5), sealedSecrets: 'v2.a.b.fourth' },
        );
        const [other] = await seed(otherOrganization, { ...year2900(4), sealedSecrets: 'v1.a.b.other' });
        await store.softDelete({ organizationId }, deleted?.id ?? '');
        const expected = [first, second, other, fourth].map((r) => ({
          id: r?.id,
          organizationId: r?.organizationId,
          sealedSecrets: r?.sealedSecrets,
        }));

        // Just before 2900: exactly this test's live records, in id order, whatever the page size.
        const before2900 = uuidv7(at('2899-12-31T23:59:59.999Z').getTime());
        expect(await store.listSealed(before2900, 100)).toEqual(expected);
        for (const limit of [1, 2, 3]) expect(await listAll(before2900, limit)).toEqual(expected);
        expect(await store.listSealed(first?.id, 2)).toEqual(expected.slice(1, 3));
        expect(await store.listSealed(fourth?.id, 100)).toEqual([]);

        // From the start: the whole store, ascending, ending with this test's records.
        const everything = await listAll(undefined, 50);
        const everyId = everything.map((e) => e.id);
        expect(everyId).toEqual([...everyId].sort());
        expect(new Set(everyId).size).toBe(everyId.length);
        expect(everything.slice(-4)).toEqual(expected);
        expect(everyId).not.toContain(deleted?.id);
      });

      it('replaceSealedSecrets swaps the sealed value when it is still the expected one, and touches nothing else', async () => {
        const organizationId = newOrganization();
        const [record] = await seed(organizationId, {
          status: 'active',
          version: 5,
          dialVersion: 3,
          sealedSecrets: 'v1.iv.tag.old',
          createdAt: at('2024-03-01T00:00:00.000Z'),
          statusChangedAt: at('2024-03-01T00:00:01.000Z'),
          updatedAt: at('2024-03-01T00:00:02.000Z'),
          lastVerifiedAt: at('2024-03-01T00:00:01.000Z'),
          verification: verificationResult('2024-03-01T00:00:01.000Z'),
        });
        const id = record?.id ?? '';
        expect(
          await store.replaceSealedSecrets(
            organizationId,
            id.toUpperCase(),
            'v1.iv.tag.old',
            'v2.iv.tag.new',
          ),
        ).toBe(true);
        expect(await store.findById({ organizationId }, id)).toEqual({
          ...record,
          sealedSecrets: 'v2.iv.tag.new',
        });
        // The old value is no longer there to compare with: a second replace of it does nothing.
        expect(await store.replaceSealedSecrets(organizationId, id, 'v1.iv.tag.old', 'v3.iv.tag.other')).toBe(
          false,
        );
        expect((await store.findById({ organizationId }, id))?.sealedSecrets).toBe('v2.iv.tag.new');
      });

      it('replaceSealedSecrets loses to a change made meanwhile, and refuses deleted, unknown and foreign records', async () => {
        const organizationId = newOrganization();
        const [record, deleted] = await seed(
          organizationId,
          { sealedSecrets: 'v1.iv.tag.listed' },
          { sealedSecrets: 'v1.iv.tag.deleted' },
        );
        const id = record?.id ?? '';
        // A PATCH seals new secrets after the rotation listed the record.
        const patched = await store.update({ organizationId }, id, {
          sealedSecrets: 'v2.iv.tag.patched',
          redial: true,
        });
        expect(
          await store.replaceSealedSecrets(organizationId, id, 'v1.iv.tag.listed', 'v2.iv.tag.resealed'),
        ).toBe(false);
        expect(await store.findById({ organizationId }, id)).toEqual(patched);

        await store.softDelete({ organizationId }, deleted?.id ?? '');
        expect(
          await store.replaceSealedSecrets(
            organizationId,
            deleted?.id ?? '',
            'v1.iv.tag.deleted',
            'v2.iv.tag.x',
          ),
        ).toBe(false);
        expect(
          await store.replaceSealedSecrets(newOrganization(), id, 'v2.iv.tag.patched', 'v2.iv.tag.foreign'),
        ).toBe(false);
        expect(
          await store.replaceSealedSecrets(organizationId, uuidv7(), 'v2.iv.tag.patched', 'v2.iv.tag.x'),
        ).toBe(false);
        expect(
          await store.replaceSealedSecrets(organizationId, 'not-a-uuid', 'v2.iv.tag.patched', 'v2.iv.tag.x'),
        ).toBe(false);
        expect(await store.findById({ organizationId }, id)).toEqual(patched);
      });
    });

    describe('periodic re-verification', () => {
      it('findDueForReverification returns live active/failed records verified before the cut-off, oldest first', async () => {
        const organizationId = newOrganization();
        const otherOrganization = newOrganization();
        const verifiedAt = (iso: string) => ({
          lastVerifiedAt: at(iso),
          verification: verificationResult(iso),
          statusChangedAt: at(iso),
        });
        const [oldestFailed, olderActive, sameTimeActive, , , , recentActive, , deleted] = await seed(
          organizationId,
          { status: 'failed', ...verifiedAt('1998-01-01T00:00:00.000Z') },
          { status: 'active', ...verifiedAt('1998-02-01T00:00:00.000Z') },
          { status: 'active', ...verifiedAt('1998-02-01T00:00:00.000Z') },
          // Being verified right now, or waiting for a verification: not due, whatever the date.
          { status: 'verifying', ...verifiedAt('1998-01-01T00:00:00.000Z') },
          { status: 'pending', ...verifiedAt('1998-01-01T00:00:00.000Z') },
          // Active but never verified (no lastVerifiedAt): not returned.
          { status: 'active', statusChangedAt: at('1998-01-01T00:00:00.000Z') },
          { status: 'active', ...verifiedAt('1999-06-01T00:00:00.000Z') },
          // Exactly at the cut-off: not older than it.
          { status: 'active', ...verifiedAt('1999-01-01T00:00:00.000Z') },
          { status: 'active', ...verifiedAt('1998-01-01T00:00:00.000Z') },
        );
        const [otherOrganizationFailed] = await seed(otherOrganization, {
          status: 'failed',
          ...verifiedAt('1998-03-01T00:00:00.000Z'),
        });
        await store.softDelete({ organizationId }, deleted?.id ?? '');

        const cutOff = at('1999-01-01T00:00:00.000Z');
        const due = await store.findDueForReverification(cutOff, 100);
        const sameTime = [olderActive, sameTimeActive].sort((a, b) =>
          (a?.id ?? '') < (b?.id ?? '') ? -1 : 1,
        );
        expect(ids(due)).toEqual(
          ids([oldestFailed, ...sameTime, otherOrganizationFailed] as ConnectionRecord[]),
        );
        expect(due[0]).toEqual(oldestFailed);
        expect(ids(await store.findDueForReverification(cutOff, 2))).toEqual(
          ids([oldestFailed, sameTime[0]] as ConnectionRecord[]),
        );
        expect(ids(await store.findDueForReverification(at('2000-01-01T00:00:00.000Z'), 100))).toContain(
          recentActive?.id,
        );
        expect(await store.findDueForReverification(at('1998-01-01T00:00:00.000Z'), 100)).toEqual([]);
      });

      it('a recorded verification takes the record off the due list', async () => {
        const organizationId = newOrganization();
        const [record] = await seed(organizationId, {
          status: 'active',
          lastVerifiedAt: at('1999-03-01T00:00:00.000Z'),
          verification: verificationResult('1999-03-01T00:00:00.000Z'),
        });
        const id = record?.id ?? '';
        const cutOff = at('1999-04-01T00:00:00.000Z');
        expect(ids(await store.findDueForReverification(cutOff, 1000))).toContain(id);
        expect(await store.markVerifying(organizationId, id, 1)).not.toBeNull();
        expect(ids(await store.findDueForReverification(cutOff, 1000))).not.toContain(id);
        expect(
          await store.recordVerification(
            organizationId,
            id,
            1,
            'failed',
            verificationResult(new Date().toISOString(), 'failed'),
          ),
        ).toBe(true);
        expect(ids(await store.findDueForReverification(cutOff, 1000))).not.toContain(id);
      });
    });

    describe('history', () => {
      const DAY = 86_400_000;
      const change = (
        organizationId: string,
        connectionId: string,
        when: Date,
        extra: Partial<Extract<HistoryRecord, { kind: 'change' }>> = {},
      ): HistoryRecord => ({
        id: uuidv7(when.getTime()),
        organizationId,
        connectionId,
        at: when,
        kind: 'change',
        action: 'updated',
        fields: ['host', 'port'],
        subject: 'acme/alice',
        ...extra,
      });
      const verified = (
        organizationId: string,
        connectionId: string,
        when: Date,
        status: 'active' | 'failed',
      ): HistoryRecord => ({
        id: uuidv7(when.getTime()),
        organizationId,
        connectionId,
        at: when,
        kind: 'verification',
        reason: 'periodic',
        status,
        statusChanged: false,
        ...(status === 'failed' ? { stage: 'auth', code: 'AUTH_FAILED' } : {}),
        latencyMs: 12,
      });
      const ago = (days: number, ms = 0) => new Date(Date.now() - days * DAY + ms);

      it('reads back what was appended, newest first, in pages; another organization sees nothing', async () => {
        const organizationId = newOrganization();
        const connectionId = uuidv7();
        const entries = [
          change(organizationId, connectionId, ago(3), {
            action: 'created',
            subject: null,
            productName: 'sales',
            fields: undefined,
          }),
          verified(organizationId, connectionId, ago(2), 'failed'),
          change(organizationId, connectionId, ago(1)),
          verified(organizationId, connectionId, ago(0, -1000), 'active'),
        ].map((entry) => Object.fromEntries(Object.entries(entry).filter(([, v]) => v !== undefined)));
        for (const entry of entries) await store.appendHistory(entry as HistoryRecord);
        // Another connection's and another organization's entries stay out.
        await store.appendHistory(verified(organizationId, uuidv7(), ago(1), 'active'));
        await store.appendHistory(verified(newOrganization(), connectionId, ago(1), 'active'));

        const newestFirst = [...entries].reverse();
        expect(await store.listHistory(organizationId, connectionId, { limit: 10 })).toEqual(newestFirst);
        const first = await store.listHistory(organizationId, connectionId, { limit: 3 });
        expect(first).toEqual(newestFirst.slice(0, 3));
        const rest = await store.listHistory(organizationId, connectionId, {
          limit: 3,
          before: first[2]?.id,
        });
        expect(rest).toEqual(newestFirst.slice(3));
        expect(await store.listHistory(newOrganization(), connectionId, { limit: 10 })).toEqual([]);
        expect(await store.listHistory(organizationId, 'not-a-uuid', { limit: 10 })).toEqual([]);
      });

      it('keeps a deleted connection’s history', async () => {
        const organizationId = newOrganization();
        const [record] = await seed(organizationId, {});
        const id = record?.id ?? '';
        const entry = change(organizationId, id, new Date(), { action: 'deleted', fields: undefined });
        const { fields: _none, ...stored } = entry as Extract<HistoryRecord, { kind: 'change' }>;
        await store.appendHistory(stored);
        await store.softDelete({ organizationId }, id);
        expect(await store.listHistory(organizationId, id, { limit: 10 })).toEqual([stored]);
      });

      it('does not list entries older than the retention (90 days by default)', async () => {
        const organizationId = newOrganization();
        const connectionId = uuidv7();
        const kept = verified(organizationId, connectionId, ago(89), 'active');
        await store.appendHistory(verified(organizationId, connectionId, ago(91), 'failed'));
        await store.appendHistory(kept);
        expect(await store.listHistory(organizationId, connectionId, { limit: 10 })).toEqual([kept]);
      });

      it('tallies the verifications of each connection since a date, and nothing else', async () => {
        const organizationId = newOrganization();
        const [a, b, none] = [uuidv7(), uuidv7(), uuidv7()];
        for (const entry of [
          verified(organizationId, a, ago(1), 'active'),
          verified(organizationId, a, ago(2), 'active'),
          verified(organizationId, a, ago(3), 'failed'),
          verified(organizationId, a, ago(40), 'failed'),
          change(organizationId, a, ago(1)),
          verified(organizationId, b, ago(1), 'failed'),
          verified(newOrganization(), b, ago(1), 'active'),
          change(organizationId, none, ago(1)),
        ]) {
          await store.appendHistory(entry);
        }
        const tally = await store.tallyVerifications(organizationId, [a, b, none], ago(30));
        expect(Object.fromEntries(tally)).toEqual({
          [a]: { passed: 2, total: 3 },
          [b]: { passed: 0, total: 1 },
        });
        expect((await store.tallyVerifications(organizationId, [], ago(30))).size).toBe(0);
      });

      it('recordVerification sets lastStatusChangeAt only when told the status changed', async () => {
        const organizationId = newOrganization();
        const [record] = await seed(organizationId, {});
        const id = record?.id ?? '';
        await store.markVerifying(organizationId, id, 1);
        const before = new Date();
        expect(
          await store.recordVerification(
            organizationId,
            id,
            1,
            'active',
            verificationResult(before.toISOString()),
            {
              statusChanged: true,
            },
          ),
        ).toBe(true);
        const changedAt = (await store.findById({ organizationId }, id))?.lastStatusChangeAt;
        expect(changedAt).toBeInstanceOf(Date);
        expect(changedAt?.getTime()).toBeGreaterThanOrEqual(before.getTime());

        await store.markVerifying(organizationId, id, 1);
        expect(
          await store.recordVerification(
            organizationId,
            id,
            1,
            'active',
            verificationResult(new Date(before.getTime() + 1000).toISOString()),
          ),
        ).toBe(true);
        expect((await store.findById({ organizationId }, id))?.lastStatusChangeAt).toEqual(changedAt);
      });
    });

    describe('webhooks', () => {
      const webhook = (organizationId: string, overrides: Partial<WebhookRecord> = {}): WebhookRecord => {
        const createdAt = new Date(Math.floor(Date.now() / 1000) * 1000);
        return {
          id: uuidv7(),
          organizationId,
          url: 'https://hooks.example.com/dbconn',
          events: ['connection.failed', 'connection.active'],
          sealedSecrets: 'v1.iv.tag.webhook',
          enabled: true,
          failureStreak: 0,
          createdAt,
          updatedAt: createdAt,
          ...overrides,
        };
      };

      it('stores, lists, updates and deletes per organization', async () => {
        const organizationId = newOrganization();
        const first = webhook(organizationId, { productName: 'sales' });
        const second = webhook(organizationId, { createdAt: new Date(first.createdAt.getTime() + 1000) });
        await store.insertWebhook(first);
        await store.insertWebhook(second);
        await store.insertWebhook(webhook(newOrganization()));
        expect(await store.findWebhook(organizationId, first.id)).toEqual(first);
        expect(await store.listWebhooks(organizationId)).toEqual([first, second]);
        expect(await store.findWebhook(newOrganization(), first.id)).toBeNull();
        expect(await store.findWebhook(organizationId, 'not-a-uuid')).toBeNull();

        const updated = await store.updateWebhook(organizationId, first.id, {
          events: ['connection.deleted'],
          productName: null,
          secretRotatedAt: at('2026-01-01T00:00:00.000Z'),
        });
        expect(updated).toMatchObject({
          events: ['connection.deleted'],
          secretRotatedAt: at('2026-01-01T00:00:00.000Z'),
        });
        expect(updated?.productName).toBeUndefined();
        expect(await store.updateWebhook(newOrganization(), first.id, { enabled: false })).toBeNull();

        expect(await store.deleteWebhook(organizationId, first.id)).toBe(true);
        expect(await store.deleteWebhook(organizationId, first.id)).toBe(false);
        expect(await store.findWebhook(organizationId, first.id)).toBeNull();
        expect(await store.listWebhooks(organizationId)).toEqual([second]);
      });

      it('keeps delivery attempts newest first, and turns an endpoint off after the failure streak', async () => {
        const organizationId = newOrganization();
        const hook = webhook(organizationId);
        await store.insertWebhook(hook);
        const attempt = (n: number, outcome: 'delivered' | 'failed') => ({
          id: uuidv7(Date.now() + n),
          organizationId,
          webhookId: hook.id,
          messageId: 'msg_1',
          event: 'connection.failed' as const,
          attempt: n,
          at: new Date(Date.now() + n),
          outcome,
          latencyMs: 5,
          ...(outcome === 'failed' ? { statusCode: 500 } : { statusCode: 204 }),
        });
        await store.recordDeliveryAttempt(attempt(1, 'failed'), 3);
        await store.recordDeliveryAttempt(attempt(2, 'failed'), 3);
        expect(await store.findWebhook(organizationId, hook.id)).toMatchObject({
          failureStreak: 2,
          enabled: true,
        });
        await store.recordDeliveryAttempt(attempt(3, 'delivered'), 3);
        expect(await store.findWebhook(organizationId, hook.id)).toMatchObject({
          failureStreak: 0,
          enabled: true,
        });
        for (const n of [4, 5, 6]) await store.recordDeliveryAttempt(attempt(n, 'failed'), 3);
        expect(await store.findWebhook(organizationId, hook.id)).toMatchObject({
          failureStreak: 3,
          enabled: false,
          disabledReason: disabledAfter(3),
        });
        const listed = await store.listDeliveries(organizationId, hook.id, 10);
        expect(listed.map((d) => d.attempt)).toEqual([6, 5, 4, 3, 2, 1]);
        expect(listed[3]).toMatchObject({ outcome: 'delivered', statusCode: 204, attempt: 3 });
        expect(listed[5]).toMatchObject({
          outcome: 'failed',
          statusCode: 500,
          messageId: 'msg_1',
          latencyMs: 5,
        });
        expect(await store.listDeliveries(organizationId, hook.id, 2)).toHaveLength(2);
        expect(await store.listDeliveries(newOrganization(), hook.id, 10)).toEqual([]);
      });
    });
  });
}
