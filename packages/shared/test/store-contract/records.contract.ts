import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import type { ConnectionRecord } from '../../src/store/types.js';
import { uuidv7 } from '../../src/uuid.js';
import {
  at,
  expectAppError,
  makeTestRecord,
  newOrganization,
  RECORD_KEYS,
  type StoreContractContext,
  verificationResult,
} from './helpers.js';

/** The store contract: insert, find, configName uniqueness and soft delete. */
export function describeRecordContract({ store, query, seed }: StoreContractContext): void {
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
      expect((await store.findByConfigName({ organizationId, productName: 'alpha' }, 'warehouse'))?.id).toBe(
        record?.id,
      );
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
}
