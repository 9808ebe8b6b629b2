import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTestRecord } from '../../test/store-contract/index.js';
import { createLogger } from '../logger.js';
import { PostgresConnectionStore } from '../store/postgres/postgres.store.js';
import type { ConnectionRecord, ConnectionStore } from '../store/types.js';
import { uuidv7 } from '../uuid.js';
import { resealAll } from './reseal.js';
import { type ConnectionSecrets, openSecrets, SealError, sealedKeyVersion, sealSecrets } from './seal.js';

const DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';

const k1 = randomBytes(32);
const k2 = randomBytes(32);
const k3 = randomBytes(32);
const ringV1 = { keys: new Map([[1, k1]]) };
const ringV1V2 = {
  keys: new Map([
    [1, k1],
    [2, k2],
  ]),
};
/** Only the newest key: what opens here was sealed with version 2, not merely readable by a ring holding 1. */
const ringV2Only = { keys: new Map([[2, k2]]) };

const schemas: string[] = [];
const stores: ConnectionStore[] = [];

afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  try {
    for (const schema of schemas)
      await admin.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
  } finally {
    await admin.end();
  }
});

/** A PostgreSQL store in a schema of its own (listSealed reads across organizations). */
async function freshStore(): Promise<ConnectionStore> {
  const schema = `t_reseal_${uuidv7().replaceAll('-', '').slice(-16)}`;
  schemas.push(schema);
  const store = new PostgresConnectionStore(`${DATABASE_URL}?schema=${schema}`);
  stores.push(store);
  await store.init();
  return store;
}

function captureLog() {
  const lines: string[] = [];
  const log = createLogger(
    { level: 'debug', name: 'reseal-test' },
    { write: (line: string) => void lines.push(line) },
  );
  return { log, lines };
}

/** A record whose secrets are sealed under `ring` for its own organization and id. */
function sealedRecord(
  ring: typeof ringV1,
  secrets: ConnectionSecrets,
  overrides: Partial<ConnectionRecord> = {},
) {
  const record = makeTestRecord({
    status: 'active',
    version: 4,
    dialVersion: 2,
    createdAt: new Date('2024-04-01T00:00:00.000Z'),
    updatedAt: new Date('2024-04-02T00:00:00.000Z'),
    statusChangedAt: new Date('2024-04-02T00:00:00.000Z'),
    ...overrides,
  });
  const ctx = { organizationId: record.organizationId, connectionId: record.id };
  return { ...record, sealedSecrets: sealSecrets(ring, secrets, ctx) };
}

const contextOf = (record: ConnectionRecord) => ({
  organizationId: record.organizationId,
  connectionId: record.id,
});

describe('resealAll (PostgreSQL store)', () => {
  it('moves every live record on an old key to the newest, keeps the rest, and reports what it did', async () => {
    const store = await freshStore();
    const secrets: ConnectionSecrets[] = [
      { password: 'first-password' },
      { password: 'second-password', ca: 'CA-PEM', cert: 'CERT-PEM', key: 'KEY-PEM' },
      { password: 'third-password' },
    ];
    const onV1 = [
      sealedRecord(ringV1, secrets[0] as ConnectionSecrets, { organizationId: 'org-a' }),
      sealedRecord(ringV1, secrets[1] as ConnectionSecrets, { organizationId: 'org-a' }),
      sealedRecord(ringV1, secrets[2] as ConnectionSecrets, { organizationId: 'org-b' }),
    ];
    const onV2 = sealedRecord(ringV1V2, { password: 'already-current' }, { organizationId: 'org-b' });
    const donor = onV1[0] as ConnectionRecord;
    const garbage = [
      // Damaged: the right shape, but the tag does not verify.
      makeTestRecord({
        organizationId: 'org-a',
        sealedSecrets: 'v1.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA.Z2FyYmFnZQ',
      }),
      // Another connection's sealed secrets copied onto this one: the associated data does not match.
      makeTestRecord({ organizationId: 'org-a', sealedSecrets: donor.sealedSecrets }),
      // Sealed by a process with a newer key than this run has: must not be moved backwards.
      makeTestRecord({
        organizationId: 'org-b',
        sealedSecrets: sealSecrets(
          { keys: new Map([[3, k3]]) },
          { password: 'v3' },
          { organizationId: 'org-b', connectionId: 'x' },
        ),
      }),
    ];
    const deleted = sealedRecord(ringV1, { password: 'deleted-password' }, { organizationId: 'org-a' });
    for (const record of [...onV1, onV2, ...garbage, deleted]) await store.insert(record);
    await store.softDelete({ organizationId: 'org-a' }, deleted.id);

    const { log, lines } = captureLog();
    // Pages of 2 over 7 live records: the last page is short, every boundary is crossed.
    const report = await resealAll(store, ringV1V2, log, { batchSize: 2 });
    expect(report).toEqual({
      keyVersion: 2,
      scanned: 7,
      resealed: 3,
      alreadyCurrent: 1,
      skipped: 0,
      failed: 3,
    });

    for (const [i, record] of onV1.entries()) {
      const after = await store.findById({ organizationId: record.organizationId }, record.id);
      expect(sealedKeyVersion(after?.sealedSecrets ?? '')).toBe(2);
      expect(openSecrets(ringV2Only, after?.sealedSecrets ?? '', contextOf(record))).toEqual(secrets[i]);
      expect(() =>
        openSecrets(ringV2Only, after?.sealedSecrets ?? '', { ...contextOf(record), connectionId: onV2.id }),
      ).toThrow(SealError);
      // Nothing a user sees changed: same version, dialVersion, status, timestamps.
      expect(after).toEqual({ ...record, sealedSecrets: after?.sealedSecrets });
    }
    expect(await store.findById({ organizationId: 'org-b' }, onV2.id)).toEqual(onV2);
    for (const record of garbage) {
      expect(await store.findById({ organizationId: record.organizationId }, record.id)).toEqual(record);
    }
    // The deleted record is not read, so it stays on version 1 (nothing opens it again).
    expect((await store.listSealed(undefined, 100)).map((e) => e.id)).not.toContain(deleted.id);

    // Each failure is logged with the id and a reason; no log line carries a secret or a sealed value.
    const failures = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'sealed secrets do not open');
    const doesNotOpen = 'sealed value does not open with this key and context';
    expect(Object.fromEntries(failures.map((f) => [f.connectionId, f.reason]))).toEqual({
      [garbage[0]?.id ?? '']: doesNotOpen,
      [garbage[1]?.id ?? '']: doesNotOpen,
      [garbage[2]?.id ?? '']: 'sealed with key version 3, newer than the newest configured here (2)',
    });
    expect(failures).toHaveLength(3);
    const everything = lines.join('\n');
    for (const s of [...secrets.map((x) => x.password), 'CA-PEM', 'KEY-PEM', 'already-current']) {
      expect(everything).not.toContain(s);
    }
    for (const record of [...onV1, onV2, ...garbage]) expect(everything).not.toContain(record.sealedSecrets);

    // A second run finds nothing left to do and writes nothing.
    const before = await store.listSealed(undefined, 100);
    expect(await resealAll(store, ringV1V2, captureLog().log, { batchSize: 3 })).toEqual({
      keyVersion: 2,
      scanned: 7,
      resealed: 0,
      alreadyCurrent: 4,
      skipped: 0,
      failed: 3,
    });
    expect(await store.listSealed(undefined, 100)).toEqual(before);
  });

  it('leaves a record that changed between reading and writing as the change left it', async () => {
    const store = await freshStore();
    const organizationId = 'org-cas';
    const [patched, removed, untouched] = [1, 2, 3].map((n) =>
      sealedRecord(ringV1, { password: `old-password-${n}` }, { organizationId }),
    ) as [ConnectionRecord, ConnectionRecord, ConnectionRecord];
    for (const record of [patched, removed, untouched]) await store.insert(record);

    // The real store, with a PATCH (new password, sealed by an API process) and a DELETE landing
    // right after the rotation has read the page and before it writes.
    let patchResult: ConnectionRecord | null = null;
    const racing: Pick<ConnectionStore, 'listSealed' | 'replaceSealedSecrets'> = {
      listSealed: async (after, limit) => {
        const page = await store.listSealed(after, limit);
        if (after === undefined) {
          patchResult = await store.update(
            { organizationId },
            patched.id,
            {
              sealedSecrets: sealSecrets(ringV1V2, { password: 'patched-password' }, contextOf(patched)),
              redial: true,
            },
            patched.version,
          );
          await store.softDelete({ organizationId }, removed.id);
        }
        return page;
      },
      replaceSealedSecrets: (...args) => store.replaceSealedSecrets(...args),
    };

    const { log } = captureLog();
    expect(await resealAll(racing, ringV1V2, log)).toEqual({
      keyVersion: 2,
      scanned: 3,
      resealed: 1,
      alreadyCurrent: 0,
      skipped: 2,
      failed: 0,
    });
    const afterPatch = await store.findById({ organizationId }, patched.id);
    expect(afterPatch).toEqual(patchResult);
    expect(openSecrets(ringV1V2, afterPatch?.sealedSecrets ?? '', contextOf(patched))).toEqual({
      password: 'patched-password',
    });
    expect(await store.findById({ organizationId }, removed.id)).toBeNull();
    const resealed = await store.findById({ organizationId }, untouched.id);
    expect(openSecrets(ringV2Only, resealed?.sealedSecrets ?? '', contextOf(untouched))).toEqual({
      password: 'old-password-3',
    });

    // The next run sees the patched record on the newest key already.
    expect(await resealAll(store, ringV1V2, log)).toMatchObject({
      scanned: 2,
      alreadyCurrent: 2,
      resealed: 0,
    });
  });

  it('with one key version configured, changes nothing', async () => {
    const store = await freshStore();
    const record = sealedRecord(ringV1, { password: 'pw' });
    await store.insert(record);
    expect(await resealAll(store, ringV1, captureLog().log)).toEqual({
      keyVersion: 1,
      scanned: 1,
      resealed: 0,
      alreadyCurrent: 1,
      skipped: 0,
      failed: 0,
    });
    expect(await store.findById({ organizationId: record.organizationId }, record.id)).toEqual(record);
  });
});
