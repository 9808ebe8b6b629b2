import { type ConnectionStore, DEFAULT_STORE_OPTIONS, type StoreOptions } from './types.js';

export * from './types.js';

/** Picks the store by the URL's scheme (docs/contract.md §10). Drivers load only for the store in use. */
export async function createStore(
  url: string,
  options: StoreOptions = DEFAULT_STORE_OPTIONS,
): Promise<ConnectionStore> {
  // Not `new URL`: a MongoDB seed list with ports (`db1:27017,db2:27017`) is no WHATWG URL.
  const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(url)?.[0].toLowerCase();
  switch (scheme) {
    case 'mongodb:':
    case 'mongodb+srv:': {
      const { MongoConnectionStore } = await import('./mongo/mongo.store.js');
      return new MongoConnectionStore(url, options);
    }
    case 'postgres:':
    case 'postgresql:': {
      const { PostgresConnectionStore } = await import('./postgres/postgres.store.js');
      return new PostgresConnectionStore(url, options);
    }
    default:
      throw new Error(`STORE_URL scheme ${scheme} is not supported (use mongodb:// or postgres://)`);
  }
}
