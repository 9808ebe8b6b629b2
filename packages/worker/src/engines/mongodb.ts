import { isIPv6 } from 'node:net';
import { MongoClient } from 'mongodb';
import { fail, StageFailure } from '../verify/stage-failure.js';
import { runListenerTlsStage } from './listener-tls.js';
import { mongodbFailure } from './mongodb.errors.js';
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
 * MongoDB has no schemas: the database stage checks the database is one the user can see, the
 * schema stage that the user may list its collections (what schema discovery needs).
 */
export const mongodb: EngineAdapter = {
  displayName: 'MongoDB',
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

    await stages.run('auth', () =>
      attempt(async () => {
        await client.connect();
        await client.db(authSource).command({ ping: 1 });
      }),
    );

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
  },
};
