import { isIPv6 } from 'node:net';
import { type Document, MongoClient, type ServerHeartbeatFailedEvent } from 'mongodb';
import { fail, StageFailure } from '../failures/stage-failure.js';
import { assembleTables, selectTables } from './discovery.js';
import { runListenerTlsStage, tlsRequiredOr } from './listener-tls.js';
import { mongodbFailure } from './mongodb.errors.js';
import { DialSessions } from './session.js';
import { mongoTlsOptions } from './ssl-options.js';
import type { EngineAdapter } from './types.js';

const classify = (error: unknown) => {
  const known = mongodbFailure(error);
  return known ? fail(known, error) : fail('PROTOCOL_ERROR', error);
};

async function attempt<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw error instanceof StageFailure ? error : classify(error);
  }
}

/**
 * `client.connect()`, ended by the first failed check of the one server. Server selection would
 * keep re-checking a server whose `hello` failed until serverSelectionTimeoutMS — the stage's own
 * budget, so the stage deadline always came first and a definite answer (a MongoDB older than
 * 4.4, a `hello` refused, a hang-up) read as AUTH_TIMEOUT. With one direct server, the monitor's
 * first failure is the answer. (The monitor never logs in: credentials fail on the pool's
 * connection, through `connect()` itself.)
 */
async function connectDirect(client: MongoClient): Promise<void> {
  let onFailure = (_event: ServerHeartbeatFailedEvent) => {};
  const failed = new Promise<never>((_, reject) => {
    onFailure = (event) => reject(event.failure);
  });
  client.once('serverHeartbeatFailed', onFailure);
  const connecting = client.connect();
  // Whichever loses the race must not become an unhandled rejection.
  connecting.catch(() => {});
  failed.catch(() => {});
  try {
    await Promise.race([connecting, failed]);
  } finally {
    client.off('serverHeartbeatFailed', onFailure);
  }
}

/** The connected client of each verified dial. */
const sessions = new DialSessions<MongoClient>();

/**
 * The aggregation that samples a collection: up to `size` random documents ($sample returns all
 * of a smaller collection), reduced on the server to their top-level field names so only names
 * cross the network, whatever the documents weigh.
 */
function fieldSamplePipeline(size: number): Document[] {
  return [
    { $sample: { size } },
    { $project: { _id: 0, fields: { $map: { input: { $objectToArray: '$$ROOT' }, in: '$$this.k' } } } },
  ];
}

/**
 * MongoDB has no schemas: the database stage checks the database is one the user can see, the
 * schema stage that the user may list its collections (what schema discovery needs).
 */
export const mongodb: EngineAdapter = {
  displayName: 'MongoDB',
  warnings: ['CERT_EXPIRES_SOON', 'TLS_VERSION_WEAK', 'TLS_IDENTITY_UNCHECKED', 'SERVER_VERSION_EOL'],
  defaultSchema: (settings) => settings.databaseName,

  async verify(ctx) {
    const { settings, stages, tls, address } = ctx;
    const { useTls } = await runListenerTlsStage(ctx);

    // As in a mongodb:// URI without authSource: the credentials live in the named database.
    const authSource = settings.metadata.authSource ?? settings.databaseName;
    const hostPort = `${isIPv6(address) ? `[${address}]` : address}:${settings.port}`;
    const client = new MongoClient(`mongodb://${hostPort}/`, {
      // Only this address: never follow a replica set's member names (a second, unchecked lookup).
      directConnection: true,
      auth: { username: settings.userName, password: settings.password },
      authSource,
      ...mongoTlsOptions(tls, { useTls }),
      appName: 'dbconn-verifier',
      maxPoolSize: 1,
      retryReads: false,
      retryWrites: false,
      serverSelectionTimeoutMS: ctx.stageTimeoutMs,
      connectTimeoutMS: ctx.stageTimeoutMs,
      socketTimeoutMS: ctx.stageTimeoutMs,
    });
    ctx.defer(() => client.close());

    await stages.run('auth', async (signal) => {
      try {
        await attempt(async () => {
          await connectDirect(client);
          await client.db(authSource).command({ ping: 1 });
        });
      } catch (failure) {
        // A requireTLS server hangs up on the first plain hello.
        throw await tlsRequiredOr(ctx, failure, signal);
      }
    });

    await stages.run('database', () =>
      attempt(async () => {
        const info = await client.db('admin').command({ buildInfo: 1 });
        if (typeof info.version === 'string') ctx.report.version = info.version;
        const { databases } = await client
          .db('admin')
          .admin()
          .listDatabases({ nameOnly: true, authorizedDatabases: true });
        // MongoDB creates a database on first write, so one that is not listed holds no data yet:
        // nearly always a typo in databaseName.
        if (!databases.some((db) => db.name === settings.databaseName)) throw fail('DATABASE_NOT_FOUND');
      }),
    );

    await stages.run('schema', () =>
      attempt(async () => {
        await client
          .db(settings.databaseName)
          .listCollections({}, { nameOnly: true, authorizedCollections: true })
          .toArray();
      }),
    );
    sessions.keep(ctx, client);
  },

  /**
   * Collections, views and time series of the database the stages checked (MongoDB has no
   * schemas: `schema` is not used), without the `system.*` ones. The fields of each are the union
   * of the top-level field names of a sample of `options.sampleSize` documents; a field that only
   * unsampled documents have is missed.
   */
  async discover(ctx, _schema, options) {
    const client = sessions.of(ctx);
    return attempt(async () => {
      const db = client.db(ctx.settings.databaseName);
      const collections = await db
        .listCollections({}, { nameOnly: true, authorizedCollections: true })
        .toArray();
      const names = selectTables(
        collections.map((c) => c.name).filter((name) => !name.startsWith('system.')),
        options.log,
      );
      const fields: { table: string; field: string }[] = [];
      // One at a time: the client has a single connection, and the deadline bounds the whole.
      for (const table of names) {
        const samples = await db
          .collection(table)
          .aggregate<{ fields: string[] }>(fieldSamplePipeline(options.sampleSize))
          .toArray();
        for (const sample of samples) for (const field of sample.fields) fields.push({ table, field });
      }
      return assembleTables(names, fields);
    });
  },
};
