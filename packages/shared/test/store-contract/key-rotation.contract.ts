import { describe, expect, it } from 'vitest';
import type { SealedSecretsEntry } from '../../src/store/types.js';
import { uuidv7 } from '../../src/uuid.js';
import { at, newOrganization, type StoreContractContext, verificationResult } from './helpers.js';

/** The store contract: key rotation: listing and re-sealing. */
export function describeKeyRotationContract({ store, seed }: StoreContractContext): void {
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
        await store.replaceSealedSecrets(organizationId, id.toUpperCase(), 'v1.iv.tag.old', 'v2.iv.tag.new'),
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
}
