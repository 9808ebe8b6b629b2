import { describe, expect, it } from 'vitest';
import { uuidv7 } from '../../src/uuid.js';
import {
  at,
  expectAppError,
  makeTestRecord,
  newOrganization,
  type StoreContractContext,
  verificationResult,
} from './helpers.js';

/** The store contract: update: versions, conditions, fields. */
export function describeUpdateContract({ store, query, seed }: StoreContractContext): void {
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
      expect((await store.findById({ organizationId }, unassigned?.id as string))?.productName).toBe('beta');
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
        (await store.update({ organizationId }, alphaId, { configName: 'Gamma', redial: false }))?.configName,
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
}
