import { expect } from 'vitest';
import { AppError } from '../../src/errors.js';
import type { ListConnectionsQuery } from '../../src/schemas/list.schema.js';
import type { Verification } from '../../src/schemas/verification.schema.js';
import type { ConnectionRecord, ConnectionStore, WebhookRecord } from '../../src/store/types.js';
import { uuidv7 } from '../../src/uuid.js';

/** A complete, valid record; `overrides` replace fields. The id is a UUID v7 of `createdAt`. */
export function makeTestRecord(overrides: Partial<ConnectionRecord> = {}): ConnectionRecord {
  const createdAt = overrides.createdAt ?? new Date();
  return {
    id: uuidv7(createdAt.getTime()),
    organizationId: 'org-contract',
    configName: `connection ${uuidv7().slice(-12)}`,
    type: 'POSTGRESQL',
    host: 'db.example.invalid',
    port: 5432,
    databaseName: 'app',
    userName: 'app_user',
    sealedSecrets: 'v1.key1.iv.ciphertext',
    metadata: {},
    status: 'pending',
    version: 1,
    dialVersion: 1,
    createdAt,
    updatedAt: createdAt,
    statusChangedAt: createdAt,
    ...overrides,
  };
}

/**
 * A complete webhook endpoint of `organizationId`; `overrides` replace fields. The id is a UUID v7
 * of `createdAt` (whole seconds by default, now).
 */
export function makeTestWebhook(
  organizationId: string,
  overrides: Partial<WebhookRecord> = {},
): WebhookRecord {
  const createdAt = overrides.createdAt ?? new Date(Math.floor(Date.now() / 1000) * 1000);
  return {
    id: uuidv7(createdAt.getTime()),
    organizationId,
    url: 'https://hooks.example.com/dbconn',
    events: ['connection.failed', 'connection.active'],
    sealedSecrets: 'v1.iv.tag.webhook',
    enabled: true,
    failureStreak: 0,
    createdAt,
    updatedAt: createdAt,
    ...overrides,
  };
}

export const RECORD_KEYS = [
  'id',
  'organizationId',
  'configName',
  'productName',
  'type',
  'host',
  'port',
  'databaseName',
  'userName',
  'schema',
  'sslMode',
  'sealedSecrets',
  'metadata',
  'status',
  'verification',
  'version',
  'dialVersion',
  'createdAt',
  'updatedAt',
  'statusChangedAt',
  'lastVerifiedAt',
  'createdBy',
  'updatedBy',
  'lastStatusChangeAt',
];

export const newOrganization = () => `org-${uuidv7()}`;
export const at = (iso: string) => new Date(iso);
export const ids = (records: ConnectionRecord[]) => records.map((r) => r.id);

export const verificationResult = (
  checkedAt: string,
  outcome: 'passed' | 'failed' = 'passed',
): Verification => ({
  outcome,
  checkedAt,
  latencyMs: 12,
  attempts: 1,
  stages: [
    { name: 'dns', status: 'ok', durationMs: 1 },
    { name: 'tcp', status: 'ok', durationMs: 2 },
    { name: 'tls', status: 'skipped', durationMs: 0 },
    { name: 'auth', status: outcome === 'passed' ? 'ok' : 'failed', durationMs: 8, code: 'AUTH_FAILED' },
  ],
  ...(outcome === 'failed'
    ? {
        error: {
          stage: 'auth',
          code: 'AUTH_FAILED',
          message: 'the server refused the password',
          hint: 'check it',
        },
      }
    : { server: { version: 'PostgreSQL 15.8' } }),
});

export async function expectAppError(promise: Promise<unknown>, code: string) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  expect((error as AppError).code).toBe(code);
}

/** What each part of the contract gets from the suite that runs it. */
export interface StoreContractContext {
  /** The store under test: it forwards to the store the suite's beforeAll opens. */
  store: ConnectionStore;
  /** A list query with defaults (page 1, 100 a page, ascending). */
  query(q?: Partial<ListConnectionsQuery>): ListConnectionsQuery;
  /** Inserts records for one organization and returns them. */
  seed(organizationId: string, ...overrides: Partial<ConnectionRecord>[]): Promise<ConnectionRecord[]>;
}
