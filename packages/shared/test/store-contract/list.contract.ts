import { describe, expect, it } from 'vitest';
import type { ListConnectionsQuery } from '../../src/schemas/list.schema.js';
import type { Verification } from '../../src/schemas/verification.schema.js';
import type { WarningCode } from '../../src/schemas/warnings.js';
import type { ConnectionRecord } from '../../src/store/types.js';
import { at, ids, newOrganization, type StoreContractContext, verificationResult } from './helpers.js';

/** The store contract: list: filters, sorting, pages. */
export function describeListContract({ store, query, seed }: StoreContractContext): void {
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

    it('filters by a warning of the latest verification', async () => {
      const organizationId = newOrganization();
      const warned = (...codes: WarningCode[]): Verification => ({
        ...verificationResult('2024-05-01T10:00:00.000Z'),
        warnings: codes.map((code) => ({ code, message: 'm', hint: 'h' })),
      });
      const [both, empty] = await seed(
        organizationId,
        { status: 'active', verification: warned('ACCOUNT_OVERPRIVILEGED', 'CERT_EXPIRES_SOON') },
        { status: 'active', verification: warned('SCHEMA_EMPTY') },
        { status: 'active', verification: verificationResult('2024-05-01T10:00:00.000Z') },
        { status: 'pending' },
      );
      const over = await store.list({ organizationId }, query({ warning: 'ACCOUNT_OVERPRIVILEGED' }));
      expect(ids(over.items)).toEqual([both?.id]);
      expect(over.total).toBe(1);
      expect(ids((await store.list({ organizationId }, query({ warning: 'SCHEMA_EMPTY' }))).items)).toEqual([
        empty?.id,
      ]);
      expect((await store.list({ organizationId }, query({ warning: 'TLS_VERSION_WEAK' }))).total).toBe(0);
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
      const list = (metadata: Record<string, string>) => store.list({ organizationId }, query({ metadata }));
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
          (x, y) => x.createdAt.getTime() - y.createdAt.getTime() || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0),
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
      expect(ids((await page(1, 'desc')).items)).toEqual(ids([records[4], records[3]] as ConnectionRecord[]));
    });
  });
}
