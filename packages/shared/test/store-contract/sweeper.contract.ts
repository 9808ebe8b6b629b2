import { describe, expect, it } from 'vitest';
import type { ConnectionRecord } from '../../src/store/types.js';
import { at, ids, newOrganization, type StoreContractContext, verificationResult } from './helpers.js';

/** The store contract: what the sweeper and periodic re-verification read across organizations. */
export function describeSweeperContract({ store, seed }: StoreContractContext): void {
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
      expect(await store.requeue(organizationId, verifyingId, 5, at('2001-06-01T00:00:00.000Z'))).toBe(false);
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
      const sameTime = [olderActive, sameTimeActive].sort((a, b) => ((a?.id ?? '') < (b?.id ?? '') ? -1 : 1));
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
}
