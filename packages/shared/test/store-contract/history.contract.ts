import { describe, expect, it } from 'vitest';
import type { HistoryRecord } from '../../src/store/types.js';
import { uuidv7 } from '../../src/uuid.js';
import { newOrganization, type StoreContractContext, verificationResult } from './helpers.js';

/** The store contract: the history of each connection. */
export function describeHistoryContract({ store, seed }: StoreContractContext): void {
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
}
