/**
 * The behaviour every ConnectionStore must have (docs/contract.md §10), as one vitest suite that each adapter's
 * integration test runs against a real server. It imports vitest, so it lives under test/, split by concern
 * (one file per part of the interface), and is never exported from the package.
 *
 * Every test works in its own organization, so tests do not see each other's records. The sweeper
 * tests (findStranded, requeue) are the exception: they read across organizations, so their records
 * use timestamps from 2000–2002, which nothing else here uses; the re-verification test likewise
 * reads across organizations and alone uses last verifications from 1998–1999; the key-rotation
 * listing reads across organizations too, and alone uses ids (UUID v7, from createdAt) of 2900.
 */
import { afterAll, beforeAll, describe } from 'vitest';
import type { ListConnectionsQuery } from '../../src/schemas/list.schema.js';
import type { ConnectionRecord, ConnectionStore } from '../../src/store/types.js';
import { makeTestRecord, type StoreContractContext } from './helpers.js';
import { describeHistoryContract } from './history.contract.js';
import { describeKeyRotationContract } from './key-rotation.contract.js';
import { describeListContract } from './list.contract.js';
import { describeRecordContract } from './records.contract.js';
import { describeSweeperContract } from './sweeper.contract.js';
import { describeUpdateContract } from './update.contract.js';
import { describeVerificationContract } from './verification.contract.js';
import { describeWebhookContract } from './webhooks.contract.js';

export { makeTestRecord, makeTestWebhook, verificationResult } from './helpers.js';

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

    // The parts are declared before beforeAll opens the store: they get one that forwards to it.
    const opened = new Proxy({} as ConnectionStore, {
      get: (_target, name) => {
        const value = Reflect.get(store, name);
        return typeof value === 'function' ? value.bind(store) : value;
      },
    });
    const context: StoreContractContext = { store: opened, query, seed };
    describeRecordContract(context);
    describeListContract(context);
    describeUpdateContract(context);
    describeVerificationContract(context);
    describeSweeperContract(context);
    describeKeyRotationContract(context);
    describeHistoryContract(context);
    describeWebhookContract(context);
  });
}
