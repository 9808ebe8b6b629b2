import type { ConnectionStatus, ConnectionType } from '../../schemas/connection.schema.js';
import type { SslMode } from '../../schemas/ssl.schema.js';
import type { Verification } from '../../schemas/verification.schema.js';
import type { ConnectionRecord, HistoryRecord, WebhookRecord } from '../types.js';

/** The PostgreSQL store's rows (connections, history, webhooks) and their mapping to records. */

export const COLUMNS = `id, organization_id, config_name, product_name, type, host, port, database_name, user_name,
  schema, ssl_mode, sealed_secrets, metadata, status, verification, version, dial_version, created_at,
  updated_at, status_changed_at, last_verified_at, created_by, updated_by, last_status_change_at`;

export interface ConnectionRow {
  id: string;
  organization_id: string;
  config_name: string;
  product_name: string | null;
  type: ConnectionType;
  host: string;
  port: number;
  database_name: string;
  user_name: string;
  schema: string | null;
  ssl_mode: SslMode | null;
  sealed_secrets: string;
  metadata: Record<string, string>;
  status: ConnectionStatus;
  verification: Verification | null;
  version: number;
  dial_version: number;
  created_at: Date;
  updated_at: Date;
  status_changed_at: Date;
  last_verified_at: Date | null;
  created_by: string | null;
  updated_by: string | null;
  last_status_change_at: Date | null;
}

export interface HistoryRow {
  id: string;
  organization_id: string;
  connection_id: string;
  product_name: string | null;
  at: Date;
  kind: HistoryRecord['kind'];
  details: Record<string, unknown>;
}

export function toRecord(row: ConnectionRow): ConnectionRecord {
  return {
    id: row.id,
    organizationId: row.organization_id,
    configName: row.config_name,
    ...(row.product_name !== null ? { productName: row.product_name } : {}),
    type: row.type,
    host: row.host,
    port: row.port,
    databaseName: row.database_name,
    userName: row.user_name,
    ...(row.schema !== null ? { schema: row.schema } : {}),
    ...(row.ssl_mode !== null ? { sslMode: row.ssl_mode } : {}),
    sealedSecrets: row.sealed_secrets,
    metadata: row.metadata,
    status: row.status,
    ...(row.verification !== null ? { verification: row.verification } : {}),
    version: row.version,
    dialVersion: row.dial_version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    statusChangedAt: row.status_changed_at,
    ...(row.last_verified_at !== null ? { lastVerifiedAt: row.last_verified_at } : {}),
    ...(row.created_by !== null ? { createdBy: row.created_by } : {}),
    ...(row.updated_by !== null ? { updatedBy: row.updated_by } : {}),
    ...(row.last_status_change_at !== null ? { lastStatusChangeAt: row.last_status_change_at } : {}),
  };
}

export function toHistoryRecord(row: HistoryRow): HistoryRecord {
  return {
    ...row.details,
    id: row.id,
    organizationId: row.organization_id,
    connectionId: row.connection_id,
    ...(row.product_name !== null ? { productName: row.product_name } : {}),
    at: row.at,
    kind: row.kind,
  } as HistoryRecord;
}

export const WEBHOOK_COLUMNS = `id, organization_id, url, events, product_name, sealed_secrets, enabled, disabled_reason,
  failure_streak, secret_rotated_at, created_at, updated_at`;

export interface WebhookRow {
  id: string;
  organization_id: string;
  url: string;
  events: WebhookRecord['events'];
  product_name: string | null;
  sealed_secrets: string;
  enabled: boolean;
  disabled_reason: string | null;
  failure_streak: number;
  secret_rotated_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export function toWebhookRecord(row: WebhookRow): WebhookRecord {
  return {
    id: row.id,
    organizationId: row.organization_id,
    url: row.url,
    events: row.events,
    ...(row.product_name !== null ? { productName: row.product_name } : {}),
    sealedSecrets: row.sealed_secrets,
    enabled: row.enabled,
    ...(row.disabled_reason !== null ? { disabledReason: row.disabled_reason } : {}),
    failureStreak: row.failure_streak,
    ...(row.secret_rotated_at !== null ? { secretRotatedAt: row.secret_rotated_at } : {}),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
