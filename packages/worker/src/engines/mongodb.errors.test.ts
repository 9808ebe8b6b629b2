import { describe, expect, it } from 'vitest';
import { MONGODB_DRIVER_ERRORS, MONGODB_SERVER_ERRORS, mongodbFailure } from './mongodb.errors.js';

const EXPECTED_SERVER: [number, string, string | undefined][] = [
  [18, 'AUTH_FAILED', 'auth'],
  [11, 'AUTH_FAILED', 'auth'],
  [334, 'AUTH_UNSUPPORTED', 'auth'],
  [13, 'PERMISSION_DENIED', 'schema'],
  [73, 'DATABASE_NOT_FOUND', 'database'],
  [91, 'SERVER_BUSY', undefined],
  [11600, 'SERVER_BUSY', undefined],
  [189, 'SERVER_BUSY', undefined],
  [10107, 'SERVER_BUSY', undefined],
  [262, 'SERVER_BUSY', undefined],
  [50, 'SERVER_BUSY', undefined],
];

const EXPECTED_DRIVER: Record<string, string> = {
  MongoNetworkError: 'CONNECTION_LOST',
  MongoNetworkTimeoutError: 'CONNECTION_LOST',
  MongoServerClosedError: 'CONNECTION_LOST',
  MongoTopologyClosedError: 'CONNECTION_LOST',
  MongoServerSelectionError: 'PROTOCOL_ERROR',
  MongoMissingCredentialsError: 'AUTH_FAILED',
  MongoCompatibilityError: 'AUTH_UNSUPPORTED',
};

const named = (name: string, extra: object = {}) => Object.assign(new Error('x'), { name, ...extra });

describe('MongoDB error classification', () => {
  it('has a test row for every table row', () => {
    expect(Object.keys(MONGODB_SERVER_ERRORS).map(Number).sort()).toEqual(
      EXPECTED_SERVER.map(([c]) => c).sort(),
    );
    expect(Object.keys(MONGODB_DRIVER_ERRORS).sort()).toEqual(Object.keys(EXPECTED_DRIVER).sort());
  });

  it.each(EXPECTED_SERVER)('server code %i → %s at %s', (serverCode, code, stage) => {
    const spec = mongodbFailure(named('MongoServerError', { code: serverCode }));
    expect(spec?.code).toBe(code);
    expect(spec?.stage).toBe(stage);
  });

  it.each(Object.entries(EXPECTED_DRIVER))('%s → %s', (name, code) => {
    expect(mongodbFailure(named(name))?.code).toBe(code);
  });

  it('finds a server code inside what the driver wraps (cause, server selection reason)', () => {
    const auth = named('MongoServerError', { code: 18 });
    expect(mongodbFailure(named('MongoServerSelectionError', { cause: auth }))?.code).toBe('AUTH_FAILED');
    const servers = new Map([['10.0.0.1:27017', { error: auth }]]);
    expect(mongodbFailure(named('MongoServerSelectionError', { reason: { servers } }))?.code).toBe(
      'AUTH_FAILED',
    );
  });

  it('knows nothing of others', () => {
    expect(mongodbFailure(named('MongoServerError', { code: 2 }))).toBeUndefined();
    expect(mongodbFailure('text')).toBeUndefined();
  });
});
