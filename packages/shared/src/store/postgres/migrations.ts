/**
 * Schema changes of the PostgreSQL store, applied in order by `init()` under an advisory lock and
 * recorded in `schema_migrations`. Never edit an applied migration: append a new version.
 */
export interface Migration {
  version: number;
  name: string;
  statements: string[];
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'create connections',
    statements: [
      `CREATE TABLE IF NOT EXISTS connections (
        id uuid PRIMARY KEY,
        organization_id text NOT NULL,
        config_name text NOT NULL,
        config_name_key text NOT NULL,
        product_name text,
        type text NOT NULL,
        host text NOT NULL,
        port integer NOT NULL,
        database_name text NOT NULL,
        user_name text NOT NULL,
        schema text,
        ssl_mode text,
        sealed_secrets text NOT NULL,
        metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
        status text NOT NULL,
        verification jsonb,
        version integer NOT NULL,
        dial_version integer NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        status_changed_at timestamptz NOT NULL,
        last_verified_at timestamptz,
        deleted_at timestamptz
      )`,
      // configName is unique per organization among live connections only: a deleted name is free.
      `CREATE UNIQUE INDEX IF NOT EXISTS connections_organization_config_name_live
        ON connections (organization_id, config_name_key) WHERE deleted_at IS NULL`,
      `CREATE INDEX IF NOT EXISTS connections_organization_created
        ON connections (organization_id, created_at, id)`,
      // The sweeper's query: live pending/verifying records by how long they have been so.
      `CREATE INDEX IF NOT EXISTS connections_status_changed_live
        ON connections (status, status_changed_at) WHERE deleted_at IS NULL`,
    ],
  },
  {
    version: 2,
    name: 'index for periodic re-verification',
    statements: [
      // findDueForReverification: live settled records by how old their last verification is.
      `CREATE INDEX IF NOT EXISTS connections_last_verified_live
        ON connections (last_verified_at, id) WHERE deleted_at IS NULL AND status IN ('active', 'failed')`,
    ],
  },
  {
    version: 3,
    name: 'who created and last changed a connection',
    statements: [
      // The subject of the caller (never the token); NULL for records written while auth was off.
      'ALTER TABLE connections ADD COLUMN IF NOT EXISTS created_by text',
      'ALTER TABLE connections ADD COLUMN IF NOT EXISTS updated_by text',
    ],
  },
  {
    version: 4,
    name: 'connection history and last status change',
    statements: [
      'ALTER TABLE connections ADD COLUMN IF NOT EXISTS last_status_change_at timestamptz',
      // No foreign key: a deleted connection's history stays readable, and the purge alone removes it.
      `CREATE TABLE IF NOT EXISTS connection_history (
        id uuid PRIMARY KEY,
        organization_id text NOT NULL,
        connection_id uuid NOT NULL,
        product_name text,
        at timestamptz NOT NULL,
        kind text NOT NULL,
        details jsonb NOT NULL
      )`,
      // A connection's page, newest first (ids are UUID v7: time-ordered).
      `CREATE INDEX IF NOT EXISTS connection_history_connection
        ON connection_history (organization_id, connection_id, id DESC)`,
      // availability: a page of connections' verifications of the last 30 days.
      `CREATE INDEX IF NOT EXISTS connection_history_verifications
        ON connection_history (organization_id, connection_id, at) WHERE kind = 'verification'`,
      // The periodic purge: everything older than the retention.
      'CREATE INDEX IF NOT EXISTS connection_history_at ON connection_history (at)',
    ],
  },
  {
    version: 5,
    name: 'index for the list filter by verification warning',
    statements: [
      // list(?warning=CODE): containment of [{"code": CODE}] in the latest verification's warnings.
      `CREATE INDEX IF NOT EXISTS connections_verification_warnings
        ON connections USING gin ((verification -> 'warnings') jsonb_path_ops) WHERE deleted_at IS NULL`,
    ],
  },
  {
    version: 6,
    name: 'webhooks and their deliveries',
    statements: [
      `CREATE TABLE IF NOT EXISTS webhooks (
        id uuid PRIMARY KEY,
        organization_id text NOT NULL,
        url text NOT NULL,
        events jsonb NOT NULL,
        product_name text,
        sealed_secrets text NOT NULL,
        enabled boolean NOT NULL,
        disabled_reason text,
        failure_streak integer NOT NULL DEFAULT 0,
        secret_rotated_at timestamptz,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        deleted_at timestamptz
      )`,
      `CREATE INDEX IF NOT EXISTS webhooks_organization_live
        ON webhooks (organization_id, created_at, id) WHERE deleted_at IS NULL`,
      `CREATE TABLE IF NOT EXISTS webhook_deliveries (
        id uuid PRIMARY KEY,
        organization_id text NOT NULL,
        webhook_id uuid NOT NULL,
        at timestamptz NOT NULL,
        details jsonb NOT NULL
      )`,
      `CREATE INDEX IF NOT EXISTS webhook_deliveries_webhook
        ON webhook_deliveries (organization_id, webhook_id, id DESC)`,
    ],
  },
  {
    version: 7,
    name: 'covering index for the list and its total',
    statements: [
      // list() orders an organization's live rows by (created_at, id) and counts the matches. With the
      // filter columns in the index, the page of a deep OFFSET and the exact total are read from the
      // index alone (an index-only scan) instead of every row of the table (bench/README.md, P5).
      `CREATE INDEX IF NOT EXISTS connections_organization_created_live
        ON connections (organization_id, created_at, id) INCLUDE (product_name, type, status, metadata)
        WHERE deleted_at IS NULL`,
      // Every query by organization also asks for live rows: the index above serves them all.
      'DROP INDEX IF EXISTS connections_organization_created',
      // An index-only scan reads the row only on pages changed since the last vacuum. Verifications
      // change rows all day; vacuuming after 2% of them (not PostgreSQL's default 20%) keeps most
      // pages marked all-visible. A vacuum of 100,000 rows takes a fraction of a second.
      `ALTER TABLE connections SET (autovacuum_vacuum_scale_factor = 0.02,
        autovacuum_vacuum_insert_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02)`,
    ],
  },
];

/** Name of the unique index behind CONFIG_NAME_TAKEN (a unique violation on anything else is a bug). */
export const CONFIG_NAME_INDEX = 'connections_organization_config_name_live';
