import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTestWebhook } from '../../test/store-contract/helpers.js';
import { makeTestRecord } from '../../test/store-contract/index.js';
import { createLogger } from '../logger.js';
import { PostgresConnectionStore } from '../store/postgres/postgres.store.js';
import type { ConnectionRecord, ConnectionStore, WebhookRecord } from '../store/types.js';
import { uuidv7 } from '../uuid.js';
import {
  newWebhookSecret,
  openWebhookSecrets,
  SECRET_OVERLAP_MS,
  sealWebhookSecrets,
  signingSecrets,
  type WebhookSecrets,
} from '../webhooks.js';
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

/** The counts of a kind the run found nothing of. */
const NOTHING = { scanned: 0, resealed: 0, alreadyCurrent: 0, skipped: 0, failed: 0 };

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
      connections: {
        scanned: 7,
        resealed: 3,
        alreadyCurrent: 1,
        skipped: 0,
        failed: 3,
      },
      webhooks: NOTHING,
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
    expect((await store.listSealed('connection', undefined, 100)).map((e) => e.id)).not.toContain(deleted.id);

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
    const before = await store.listSealed('connection', undefined, 100);
    expect(await resealAll(store, ringV1V2, captureLog().log, { batchSize: 3 })).toEqual({
      keyVersion: 2,
      connections: {
        scanned: 7,
        resealed: 0,
        alreadyCurrent: 4,
        skipped: 0,
        failed: 3,
      },
      webhooks: NOTHING,
    });
    expect(await store.listSealed('connection', undefined, 100)).toEqual(before);
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
      listSealed: async (kind, after, limit) => {
        const page = await store.listSealed(kind, after, limit);
        if (kind === 'connection' && after === undefined) {
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
      connections: {
        scanned: 3,
        resealed: 1,
        alreadyCurrent: 0,
        skipped: 2,
        failed: 0,
      },
      webhooks: NOTHING,
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
    expect((await resealAll(store, ringV1V2, log)).connections).toMatchObject({
      scanned: 2,
      alreadyCurrent: 2,
      resealed: 0,
    });
  });

  it("moves webhooks' signing secrets (a rotation's previous one with them) to the newest key, counted apart", async () => {
    const store = await freshStore();
    const organizationId = 'org-hooks';
    /** An endpoint whose signing secrets are sealed under `ring`; a rotation and a streak that must stay. */
    const sealedHook = (ring: typeof ringV1, secrets: WebhookSecrets): WebhookRecord => {
      const record = makeTestWebhook(organizationId, {
        createdAt: new Date('2024-04-01T00:00:00.000Z'),
        updatedAt: new Date('2024-04-02T00:00:00.000Z'),
        secretRotatedAt: new Date('2024-04-02T00:00:00.000Z'),
        failureStreak: 2,
      });
      return { ...record, sealedSecrets: sealWebhookSecrets(ring, record, secrets) };
    };
    const secrets: WebhookSecrets[] = [
      // Rotated moments ago: the previous secret signs beside the new one for a day.
      {
        current: newWebhookSecret(),
        previous: newWebhookSecret(),
        previousUntil: new Date(Date.now() + SECRET_OVERLAP_MS).toISOString(),
      },
      { current: newWebhookSecret() },
    ];
    const onV1 = secrets.map((s) => sealedHook(ringV1, s));
    const onV2 = sealedHook(ringV1V2, { current: newWebhookSecret() });
    // What a connection with this id would hold: webhooks are sealed with other associated data.
    const misplacedRecord = makeTestWebhook(organizationId);
    const misplaced = {
      ...misplacedRecord,
      sealedSecrets: sealSecrets(
        ringV1,
        { password: 'misplaced' },
        { organizationId, connectionId: misplacedRecord.id },
      ),
    };
    const deleted = sealedHook(ringV1, { current: newWebhookSecret() });
    for (const hook of [...onV1, onV2, misplaced, deleted]) await store.insertWebhook(hook);
    await store.deleteWebhook(organizationId, deleted.id);
    const connection = sealedRecord(ringV1, { password: 'connection-password' }, { organizationId });
    await store.insert(connection);

    const { log, lines } = captureLog();
    expect(await resealAll(store, ringV1V2, log, { batchSize: 1 })).toEqual({
      keyVersion: 2,
      connections: { ...NOTHING, scanned: 1, resealed: 1 },
      webhooks: { scanned: 4, resealed: 2, alreadyCurrent: 1, skipped: 0, failed: 1 },
    });

    // Key 2 alone opens them, both secrets of the rotation still sign, and nothing else changed.
    for (const [i, hook] of onV1.entries()) {
      const stored = await store.findWebhook(organizationId, hook.id);
      expect(sealedKeyVersion(stored?.sealedSecrets ?? '')).toBe(2);
      const opened = openWebhookSecrets(ringV2Only, stored ?? hook);
      expect(opened).toEqual(secrets[i]);
      expect(stored).toEqual({ ...hook, sealedSecrets: stored?.sealedSecrets });
    }
    const [rotated] = onV1 as [WebhookRecord];
    const reopened = openWebhookSecrets(
      ringV2Only,
      (await store.findWebhook(organizationId, rotated.id)) ?? rotated,
    );
    expect(signingSecrets(reopened)).toEqual([secrets[0]?.current, secrets[0]?.previous]);
    expect(await store.findWebhook(organizationId, onV2.id)).toEqual(onV2);
    expect(await store.findWebhook(organizationId, misplaced.id)).toEqual(misplaced);
    expect((await store.listSealed('webhook', undefined, 100)).map((e) => e.id)).not.toContain(deleted.id);

    const failures = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'sealed secrets do not open');
    expect(failures).toEqual([
      expect.objectContaining({
        kind: 'webhook',
        webhookId: misplaced.id,
        organizationId,
        reason: 'sealed value does not open with this key and context',
      }),
    ]);
    const everything = lines.join('\n');
    for (const s of secrets.flatMap((x) => [x.current, x.previous ?? x.current])) {
      expect(everything).not.toContain(s);
    }
    for (const hook of [...onV1, onV2, misplaced]) expect(everything).not.toContain(hook.sealedSecrets);

    // A second run finds every endpoint current but the one that does not open.
    expect((await resealAll(store, ringV1V2, captureLog().log)).webhooks).toEqual({
      ...NOTHING,
      scanned: 4,
      alreadyCurrent: 3,
      failed: 1,
    });
  });

  it('with one key version configured, changes nothing', async () => {
    const store = await freshStore();
    const record = sealedRecord(ringV1, { password: 'pw' });
    await store.insert(record);
    expect(await resealAll(store, ringV1, captureLog().log)).toEqual({
      keyVersion: 1,
      connections: {
        scanned: 1,
        resealed: 0,
        alreadyCurrent: 1,
        skipped: 0,
        failed: 0,
      },
      webhooks: NOTHING,
    });
    expect(await store.findById({ organizationId: record.organizationId }, record.id)).toEqual(record);
  });
});
