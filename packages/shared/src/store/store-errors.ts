import { AppError, RETRY_AFTER_SECONDS } from '../errors.js';

/** What an adapter knows about its driver's errors: the two kinds the store reports by name. */
export interface DriverErrorKinds {
  /** The live-configName unique index refused the write. */
  isConfigNameConflict(error: unknown): boolean;
  /** The server could not be reached or cannot serve now: retrying later can succeed. */
  isConnectionFailure(error: unknown): boolean;
}

/**
 * A driver error as the store reports it: CONFIG_NAME_TAKEN, UNAVAILABLE (with Retry-After), or
 * the error itself (a bug, answered INTERNAL further up). AppErrors pass through.
 */
export function mapDriverError(error: unknown, kinds: DriverErrorKinds): unknown {
  if (error instanceof AppError) return error;
  if (kinds.isConfigNameConflict(error)) {
    return new AppError('CONFIG_NAME_TAKEN', 'a connection with this configName already exists', {
      cause: error,
    });
  }
  if (kinds.isConnectionFailure(error)) {
    return new AppError('UNAVAILABLE', 'the store is unavailable', {
      retryAfter: RETRY_AFTER_SECONDS,
      cause: error,
    });
  }
  return error;
}
