import { describe, expect, it } from 'vitest';
import type {
  ConnectionRecord,
  SealedKind,
  SealedSecretsEntry,
  WebhookRecord,
} from '../../src/store/types.js';
import { uuidv7 } from '../../src/uuid.js';
import {
  at,
  makeTestWebhook,
  newOrganization,
  type StoreContractContext,
  verificationResult,
} from './helpers.js';

type SealedRecord = ConnectionRecord | WebhookRecord;

/** What the key-rotation tests do to a record, the same way for each kind the rotation re-seals. */
interface Kind {
  /** Inserts records of one organization and returns them; a webhook takes only the fields it has. */
  seed(
    organizationId: string,
    ...overrides: Partial<ConnectionRecord & WebhookRecord>[]
  ): Promise<SealedRecord[]>;
  find(organizationId: string, id: string): Promise<SealedRecord | null>;
  remove(organizationId: string, id: string): Promise<boolean>;
  /** A change through the API that seals new secrets (a PATCH; a webhook's rotate-secret). */
  changeSecrets(organizationId: string, id: string, sealedSecrets: string): Promise<SealedRecord | null>;
}

/** The store contract: key rotation: listing and re-sealing, for connections and webhooks alike. */
export function describeKeyRotationContract({ store, seed }: StoreContractContext): void {
  const kinds: Record<SealedKind, Kind> = {
    connection: {
      seed: (organizationId, ...overrides) => seed(organizationId, ...overrides),
      find: (organizationId, id) => store.findById({ organizationId }, id),
      remove: (organizationId, id) => store.softDelete({ organizationId }, id),
      changeSecrets: (organizationId, id, sealedSecrets) =>
        store.update({ organizationId }, id, { sealedSecrets, redial: true }),
    },
    webhook: {
      seed: async (organizationId, ...overrides) => {
        const records = overrides.map((o) =>
          makeTestWebhook(organizationId, {
            ...(o.createdAt ? { createdAt: o.createdAt, updatedAt: o.createdAt } : {}),
            ...(o.updatedAt ? { updatedAt: o.updatedAt } : {}),
            ...(o.sealedSecrets ? { sealedSecrets: o.sealedSecrets } : {}),
          }),
        );
        for (const record of records) await store.insertWebhook(record);
        return records;
      },
      find: (organizationId, id) => store.findWebhook(organizationId, id),
      remove: (organizationId, id) => store.deleteWebhook(organizationId, id),
      changeSecrets: (organizationId, id, sealedSecrets) =>
        store.updateWebhook(organizationId, id, { sealedSecrets, secretRotatedAt: new Date() }),
    },
  };

  describe.each(['connection', 'webhook'] as const)('key rotation (%s)', (kind) => {
    const { seed: seedKind, find, remove, changeSecrets } = kinds[kind];
    const otherKind: SealedKind = kind === 'connection' ? 'webhook' : 'connection';
    /** Ids of 2900 sort after every other record of this suite (uuidv7 starts with the time). */
    const year2900 = (day: number) => ({ createdAt: at(`2900-01-0${day}T00:00:00.000Z`) });
    /** Every entry from `after` on, fetched `limit` at a time as the re-sealing command does. */
    async function listAll(after: string | undefined, limit: number) {
      const entries: SealedSecretsEntry[] = [];
      for (;;) {
        const page = await store.listSealed(kind, after, limit);
        entries.push(...page);
        if (page.length < limit) return entries;
        after = page.at(-1)?.id;
      }
    }

    it('listSealed pages live records of its kind in every organization by id, with only id, organization and secrets', async () => {
      const organizationId = newOrganization();
      const otherOrganization = newOrganization();
      const [first, second, deleted, fourth] = await seedKind(
        organizationId,
        { ...year2900(1), sealedSecrets: 'v1.a.b.first' },
        { ...year2900(2), sealedSecrets: 'v1.a.b.second' },
        { ...year2900(3), sealedSecrets: 'v1.a.b.deleted' },
        { ...year2900(5), sealedSecrets: 'v2.a.b.fourth' },
      );
      const [other] = await seedKind(otherOrganization, { ...year2900(4), sealedSecrets: 'v1.a.b.other' });
      await remove(organizationId, deleted?.id ?? '');
      const expected = [first, second, other, fourth].map((r) => ({
        id: r?.id,
        organizationId: r?.organizationId,
        sealedSecrets: r?.sealedSecrets,
      }));

      // Just before 2900: exactly this test's live records, in id order, whatever the page size; the
      // other kind's records of 2900 (its own run of this test) are not among them.
      const before2900 = uuidv7(at('2899-12-31T23:59:59.999Z').getTime());
      expect(await store.listSealed(kind, before2900, 100)).toEqual(expected);
      for (const limit of [1, 2, 3]) expect(await listAll(before2900, limit)).toEqual(expected);
      expect(await store.listSealed(kind, first?.id, 2)).toEqual(expected.slice(1, 3));
      expect(await store.listSealed(kind, fourth?.id, 100)).toEqual([]);
      const otherIds = (await store.listSealed(otherKind, before2900, 100)).map((e) => e.id);
      for (const entry of expected) expect(otherIds).not.toContain(entry.id);

      // From the start: every live record of the kind, ascending, ending with this test's records.
      const everything = await listAll(undefined, 50);
      const everyId = everything.map((e) => e.id);
      expect(everyId).toEqual([...everyId].sort());
      expect(new Set(everyId).size).toBe(everyId.length);
      expect(everything.slice(-4)).toEqual(expected);
      expect(everyId).not.toContain(deleted?.id);
    });

    it('replaceSealedSecrets swaps the sealed value when it is still the expected one, and touches nothing else', async () => {
      const organizationId = newOrganization();
      const [record] = await seedKind(organizationId, {
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
      // The other kind has no record with this id: nothing changes.
      expect(
        await store.replaceSealedSecrets(otherKind, organizationId, id, 'v1.iv.tag.old', 'v2.iv.tag.new'),
      ).toBe(false);
      expect(await find(organizationId, id)).toEqual(record);
      expect(
        await store.replaceSealedSecrets(
          kind,
          organizationId,
          id.toUpperCase(),
          'v1.iv.tag.old',
          'v2.iv.tag.new',
        ),
      ).toBe(true);
      expect(await find(organizationId, id)).toEqual({ ...record, sealedSecrets: 'v2.iv.tag.new' });
      // The old value is no longer there to compare with: a second replace of it does nothing.
      expect(
        await store.replaceSealedSecrets(kind, organizationId, id, 'v1.iv.tag.old', 'v3.iv.tag.other'),
      ).toBe(false);
      expect((await find(organizationId, id))?.sealedSecrets).toBe('v2.iv.tag.new');
    });

    it('replaceSealedSecrets loses to a change made meanwhile, and refuses deleted, unknown and foreign records', async () => {
      const organizationId = newOrganization();
      const [record, deleted] = await seedKind(
        organizationId,
        { sealedSecrets: 'v1.iv.tag.listed' },
        { sealedSecrets: 'v1.iv.tag.deleted' },
      );
      const id = record?.id ?? '';
      // The API seals new secrets after the rotation listed the record.
      const changed = await changeSecrets(organizationId, id, 'v2.iv.tag.patched');
      expect(changed?.sealedSecrets).toBe('v2.iv.tag.patched');
      expect(
        await store.replaceSealedSecrets(kind, organizationId, id, 'v1.iv.tag.listed', 'v2.iv.tag.resealed'),
      ).toBe(false);
      expect(await find(organizationId, id)).toEqual(changed);

      await remove(organizationId, deleted?.id ?? '');
      expect(
        await store.replaceSealedSecrets(
          kind,
          organizationId,
          deleted?.id ?? '',
          'v1.iv.tag.deleted',
          'v2.iv.tag.x',
        ),
      ).toBe(false);
      expect(
        await store.replaceSealedSecrets(
          kind,
          newOrganization(),
          id,
          'v2.iv.tag.patched',
          'v2.iv.tag.foreign',
        ),
      ).toBe(false);
      expect(
        await store.replaceSealedSecrets(kind, organizationId, uuidv7(), 'v2.iv.tag.patched', 'v2.iv.tag.x'),
      ).toBe(false);
      expect(
        await store.replaceSealedSecrets(
          kind,
          organizationId,
          'not-a-uuid',
          'v2.iv.tag.patched',
          'v2.iv.tag.x',
        ),
      ).toBe(false);
      expect(await find(organizationId, id)).toEqual(changed);
    });
  });
}
