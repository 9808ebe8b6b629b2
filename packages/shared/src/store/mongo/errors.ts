import mongoose from 'mongoose';
import { mapDriverError } from '../store-errors.js';
import { CONFIG_NAME_INDEX } from './documents.js';

/** How the MongoDB store tells an outage from a conflict or a bug (UNAVAILABLE, CONFIG_NAME_TAKEN). */

/**
 * Server error codes that mean "no usable primary right now" (shutdown, step-down, elections,
 * network trouble reported by a mongos; 50 MaxTimeMSExpired: the server gave up at maxTimeMS, that
 * is STORE_TIMEOUT_MS): retrying later can succeed.
 */
const UNAVAILABLE_SERVER_CODES = new Set([6, 7, 50, 89, 91, 189, 9001, 10107, 11600, 11602, 13435, 13436]);

function isConnectionFailure(error: unknown): boolean {
  const { mongo } = mongoose;
  return (
    error instanceof mongo.MongoNetworkError ||
    error instanceof mongo.MongoServerSelectionError ||
    error instanceof mongo.MongoTopologyClosedError ||
    error instanceof mongo.MongoNotConnectedError ||
    error instanceof mongoose.Error.MongooseServerSelectionError ||
    (error instanceof mongo.MongoServerError &&
      typeof error.code === 'number' &&
      UNAVAILABLE_SERVER_CODES.has(error.code))
  );
}

function isConfigNameConflict(error: unknown): boolean {
  if (!(error instanceof mongoose.mongo.MongoServerError) || error.code !== 11000) return false;
  // keyPattern names the index's fields; a clash on `_id` (a reused id) is a bug, not a name conflict.
  const keyPattern: unknown = error.keyPattern;
  if (keyPattern && typeof keyPattern === 'object') return 'configNameKey' in keyPattern;
  return String(error.message).includes(CONFIG_NAME_INDEX);
}

/** A driver error as the store reports it (store-errors.ts). */
export const toStoreError = (error: unknown) =>
  mapDriverError(error, { isConfigNameConflict, isConnectionFailure });
