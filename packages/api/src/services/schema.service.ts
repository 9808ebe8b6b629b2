import {
  AppError,
  type ConnectionRecord,
  type ConnectionSchemaResponse,
  type ConnectionStore,
  type DiscoveredTable,
  JOB_NAMES,
  type SchemaDiscoveryResult,
  type SchemaValidationError,
  type ValidateSchemaInput,
  type ValidateSchemaResult,
} from '@dbconn/shared';
import { callerKey, type RequestContext } from '../context.js';
import type { ProductScope } from './connections.service.js';
import type { InteractiveClient } from './interactive.client.js';
import type { RateLimiter } from './rate-limiter.js';
import type { SchemaCache } from './schema-cache.js';

export interface SchemaServiceDeps {
  store: ConnectionStore;
  interactive: InteractiveClient;
  cache: SchemaCache;
  limiter: RateLimiter;
  limits: { perConnection: number; perCaller: number; perOrganization: number };
}

type Discovery =
  | { ok: true; schema: string; tables: DiscoveredTable[] }
  | { ok: false; result: SchemaDiscoveryResult };

/** Schema discovery (through the worker, cached in Redis) and validation of mapped fields. */
export class SchemaService {
  constructor(private readonly deps: SchemaServiceDeps) {}

  async schema(ctx: RequestContext, id: string, scope: ProductScope = {}): Promise<ConnectionSchemaResponse> {
    const record = await this.deps.store.findById({ organizationId: ctx.organizationId, ...scope }, id);
    if (!record) throw new AppError('NOT_FOUND', `connection ${id} was not found`);
    const discovery = (await this.discoverAll(ctx, [record])).get(record.id) as Discovery;
    if (!discovery.ok) {
      const error = discovery.result.outcome === 'failed' ? discovery.result.error : undefined;
      throw new AppError('DATA_SOURCE_DOWN', error?.message ?? 'The database could not be reached', {
        extra: error ? { error } : {},
      });
    }
    return {
      id: record.id,
      configName: record.configName,
      databaseName: record.databaseName,
      type: record.type,
      schema: discovery.schema,
      tables: discovery.tables,
    };
  }

  /**
   * Checks that every mapped table and field exists. The limits of every discovery the request
   * needs are taken together first, so a 429 starts none; the discoveries then run in parallel and
   * the errors come back in request order (connections, then tables, then fields).
   */
  async validateSchema(
    ctx: RequestContext,
    input: ValidateSchemaInput,
    scope: ProductScope = {},
  ): Promise<ValidateSchemaResult> {
    const entries = Object.entries(input.mappedFields);
    const records = await Promise.all(
      entries.map(([configName]) =>
        this.deps.store.findByConfigName({ organizationId: ctx.organizationId, ...scope }, configName),
      ),
    );
    const found = records.filter((record): record is ConnectionRecord => record !== null);
    const byId = await this.discoverAll(ctx, found);
    const discoveries = records.map((record) => (record ? (byId.get(record.id) ?? null) : null));
    const errors: SchemaValidationError[] = [];
    let tableCount = 0;
    let fieldCount = 0;
    entries.forEach(([dataSourceId, tables], i) => {
      const discovery = discoveries[i];
      if (discovery === null || discovery === undefined) {
        errors.push({
          type: 'DATA_SOURCE_NOT_FOUND',
          dataSourceId,
          message: `no connection named ${dataSourceId}`,
        });
        return;
      }
      if (!discovery.ok) {
        const reason = discovery.result.outcome === 'failed' ? discovery.result.error.message : 'unreachable';
        errors.push({ type: 'DATA_SOURCE_DOWN', dataSourceId, message: reason });
        return;
      }
      const known = new Map(discovery.tables.map((t) => [t.name, new Set(t.fields)]));
      for (const [table, fields] of Object.entries(tables)) {
        tableCount++;
        const columns = known.get(table);
        if (!columns) {
          errors.push({
            type: 'TABLE_NOT_FOUND',
            dataSourceId,
            table,
            message: `${table} does not exist in ${discovery.schema}`,
          });
          continue;
        }
        for (const field of fields) {
          fieldCount++;
          if (!columns.has(field)) {
            errors.push({
              type: 'FIELD_NOT_FOUND',
              dataSourceId,
              table,
              field,
              message: `${table}.${field} does not exist`,
            });
          }
        }
      }
    });
    if (errors.length > 0) {
      throw new AppError('SCHEMA_VALIDATION_FAILED', `${errors.length} mapped item(s) do not exist`, {
        extra: { errors },
      });
    }
    return { status: 'success', dataSources: entries.length, tables: tableCount, fields: fieldCount };
  }

  /**
   * The tables of each connection, by id: from the cache, or discovered through the worker (in
   * parallel, one discovery per connection). The limits of every discovery needed are taken
   * together first, so a 429 starts none.
   */
  private async discoverAll(
    ctx: RequestContext,
    records: ConnectionRecord[],
  ): Promise<Map<string, Discovery>> {
    const unique = [...new Map(records.map((record) => [record.id, record])).values()];
    const cached = await Promise.all(unique.map((record) => this.cached(record)));
    const missing = unique.filter((_, i) => !cached[i]);
    if (missing.length > 0) await this.charge(ctx, missing);
    const discovered = await Promise.all(missing.map((record) => this.discover(record)));
    const out = new Map<string, Discovery>();
    unique.forEach((record, i) => {
      const hit = cached[i];
      if (hit) out.set(record.id, hit);
    });
    missing.forEach((record, i) => {
      out.set(record.id, discovered[i] as Discovery);
    });
    return out;
  }

  /** The connection's tables from the cache, if there (a cache that cannot be read is a miss). */
  private async cached(record: ConnectionRecord): Promise<Discovery | null> {
    const cached = await this.deps.cache
      .get(record.id, record.dialVersion, record.schema ?? '')
      .catch(() => null);
    return cached ? { ok: true, schema: cached.schema, tables: cached.tables } : null;
  }

  /**
   * Takes the schema limits of discovering these connections: one from each, and one per
   * discovery from the organization. All or nothing: a 429 takes nothing.
   */
  private async charge(ctx: RequestContext, records: ConnectionRecord[]): Promise<void> {
    await this.deps.limiter.consume('schema', [
      ...records.map((record) => ({ key: `connection:${record.id}`, max: this.deps.limits.perConnection })),
      { key: callerKey(ctx), max: this.deps.limits.perCaller, cost: records.length },
      {
        key: `organization:${ctx.organizationId}`,
        max: this.deps.limits.perOrganization,
        cost: records.length,
      },
    ]);
  }

  /**
   * Discovers the connection's tables through the worker and caches them. The caller has taken the
   * limits already: a retry of the same request (the connection changed meanwhile) takes none.
   */
  private async discover(record: ConnectionRecord, retried = false): Promise<Discovery> {
    const result = await this.deps.interactive.run<SchemaDiscoveryResult | null>(JOB_NAMES.discoverSchema, {
      organizationId: record.organizationId,
      connectionId: record.id,
      dialVersion: record.dialVersion,
    });
    if (result === null) {
      // The connection changed (or went) while the job waited: discover what it is now, once.
      const fresh = retried
        ? null
        : await this.deps.store.findById({ organizationId: record.organizationId }, record.id);
      if (!fresh) throw new AppError('NOT_FOUND', `connection ${record.id} was not found`);
      return (await this.cached(fresh)) ?? this.discover(fresh, true);
    }
    if (result.outcome !== 'passed') return { ok: false, result };
    await this.deps.cache.set(record.id, record.dialVersion, record.schema ?? '', {
      schema: result.schema,
      tables: result.tables,
    });
    return { ok: true, schema: result.schema, tables: result.tables };
  }
}
