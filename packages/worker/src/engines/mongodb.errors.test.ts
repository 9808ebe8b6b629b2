import { describe, expect, it } from 'vitest';
import { describeFailureTable, ENGINE_STAGES } from '../../test/helpers/failure-tables.js';
import { MONGODB_DRIVER_ERRORS, MONGODB_SERVER_ERRORS, mongodbFailure } from './mongodb.errors.js';

const serverRows = Object.entries(MONGODB_SERVER_ERRORS);
const driverRows = Object.entries(MONGODB_DRIVER_ERRORS);
describeFailureTable('MONGODB_SERVER_ERRORS', serverRows, ENGINE_STAGES);
describeFailureTable('MONGODB_DRIVER_ERRORS', driverRows, ENGINE_STAGES);

const named = (name: string, extra: object = {}) => Object.assign(new Error('x'), { name, ...extra });

describe('MongoDB error classification', () => {
  it.each(serverRows)('server code %s is found by MongoServerError.code', (serverCode, spec) => {
    expect(mongodbFailure(named('MongoServerError', { code: Number(serverCode) }))).toBe(spec);
  });

  it.each(driverRows)('%s is found by the error class name', (name, spec) => {
    expect(mongodbFailure(named(name))).toBe(spec);
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
