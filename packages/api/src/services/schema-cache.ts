import type { DiscoveredTable, Redis } from '@dbconn/shared';

/** The effective schema name (the engine default when none was set) and its tables. */
export interface CachedSchema {
  schema: string;
  tables: DiscoveredTable[];
}

/**
 * Discovered schemas per (connection, dialled version, schema), in one Redis hash per connection
 * so an update or delete drops them all with one DEL. Only names are cached, never settings.
 */
export class SchemaCache {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlSeconds: number,
  ) {}

  private key(connectionId: string) {
    return `${this.prefix}:schema-cache:${connectionId}`;
  }

  async get(connectionId: string, dialVersion: number, schema: string): Promise<CachedSchema | null> {
    const raw = await this.redis.hget(this.key(connectionId), `${dialVersion}:${schema}`);
    return raw ? (JSON.parse(raw) as CachedSchema) : null;
  }

  async set(connectionId: string, dialVersion: number, schema: string, value: CachedSchema): Promise<void> {
    const key = this.key(connectionId);
    await this.redis
      .multi()
      .hset(key, `${dialVersion}:${schema}`, JSON.stringify(value))
      .expire(key, this.ttlSeconds)
      .exec();
  }

  async drop(connectionId: string): Promise<void> {
    await this.redis.del(this.key(connectionId));
  }
}
