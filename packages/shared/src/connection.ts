import { toConnectionUrl } from './connection-string/url.js';
import type { Connection, ConnectionType } from './schemas/connection.schema.js';
import type { ConnectionRecord, VerificationTally } from './store/types.js';

/**
 * The public resource of a stored record (docs/contract.md §1): no secret, no sealed blob, no key id.
 * `tally`: the record's verifications of the last 30 days from the history (availability).
 */
export function toConnection(record: ConnectionRecord, tally: VerificationTally | undefined): Connection {
  return {
    id: record.id,
    configName: record.configName,
    ...(record.productName ? { productName: record.productName } : {}),
    type: record.type,
    host: record.host,
    port: record.port,
    databaseName: record.databaseName,
    userName: record.userName,
    ...(record.schema ? { schema: record.schema } : {}),
    ...(record.sslMode ? { ssl: { mode: record.sslMode } } : {}),
    metadata: record.metadata,
    connectionUrl: toConnectionUrl({ ...record, sslMode: record.sslMode }),
    status: record.status,
    ...(record.verification ? { verification: record.verification } : {}),
    ...(record.lastVerifiedAt ? { lastVerifiedAt: record.lastVerifiedAt.toISOString() } : {}),
    version: record.version,
    createdAt: record.createdAt.toISOString(),
    updatedAt: record.updatedAt.toISOString(),
    ...(record.createdBy ? { createdBy: record.createdBy } : {}),
    ...(record.updatedBy ? { updatedBy: record.updatedBy } : {}),
    ...(record.lastStatusChangeAt ? { lastStatusChangeAt: record.lastStatusChangeAt.toISOString() } : {}),
    availability: tally && tally.total > 0 ? tally.passed / tally.total : null,
  };
}

/**
 * Metadata keys an engine dials with (docs/contract.md §4, engine extras): the Oracle service name and the
 * MongoDB authentication database and whether the host is an SRV name (`mongodb+srv://`). Changing one changes what is dialled, as a new host would.
 */
export const DIALLED_METADATA_KEYS: Readonly<Partial<Record<ConnectionType, readonly string[]>>> = {
  ORACLE: ['serviceName'],
  MONGODB: ['authSource', 'srv'],
};

/** Whether replacing `before` by `after` changes a metadata key that connections of `type` dial with. */
export function dialledMetadataChanged(
  type: ConnectionType,
  before: Readonly<Record<string, string>>,
  after: Readonly<Record<string, string>>,
): boolean {
  return (DIALLED_METADATA_KEYS[type] ?? []).some((key) => before[key] !== after[key]);
}
