import { describe, expect, it } from 'vitest';
import { uuidv7 } from '../../src/uuid.js';
import { at, newOrganization, type StoreContractContext, verificationResult } from './helpers.js';

/** The store contract: the worker's writes: markVerifying and recordVerification. */
export function describeVerificationContract({ store, seed }: StoreContractContext): void {
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
      expect(found?.statusChangedAt.getTime()).toBeGreaterThan(record?.statusChangedAt.getTime() ?? Infinity);
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
}
