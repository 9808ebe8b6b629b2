import { describe, expect, it } from 'vitest';
import { disabledAfter } from '../../src/store/types.js';
import { uuidv7 } from '../../src/uuid.js';
import { at, makeTestWebhook, newOrganization, type StoreContractContext } from './helpers.js';

/** The store contract: webhook endpoints and their delivery attempts (docs/contract.md §11). */
export function describeWebhookContract({ store }: StoreContractContext): void {
  describe('webhooks', () => {
    it('stores, lists, updates and deletes per organization', async () => {
      const organizationId = newOrganization();
      const first = makeTestWebhook(organizationId, { productName: 'sales' });
      const second = makeTestWebhook(organizationId, {
        createdAt: new Date(first.createdAt.getTime() + 1000),
      });
      await store.insertWebhook(first);
      await store.insertWebhook(second);
      await store.insertWebhook(makeTestWebhook(newOrganization()));
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
      const hook = makeTestWebhook(organizationId);
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
}
