import type { FailureSpec } from '../failures/stage-failure.js';

/** MongoDB server error codes (`MongoServerError.code`) → verification failure. */
export const MONGODB_SERVER_ERRORS: Record<number, FailureSpec> = {
  // AuthenticationFailed
  18: { code: 'AUTH_FAILED', stage: 'auth' },
  // UserNotFound
  11: { code: 'AUTH_FAILED', stage: 'auth' },
  // MechanismUnavailable
  334: { code: 'AUTH_UNSUPPORTED', stage: 'auth' },
  // Unauthorized: the login worked, the operation is not granted
  13: { code: 'PERMISSION_DENIED', stage: 'schema' },
  // InvalidNamespace: not a valid database name
  73: { code: 'DATABASE_NOT_FOUND', stage: 'database' },
  // ShutdownInProgress, InterruptedAtShutdown, PrimarySteppedDown, NotWritablePrimary, TooManyConnections(-ish)
  91: { code: 'SERVER_BUSY' },
  11600: { code: 'SERVER_BUSY' },
  189: { code: 'SERVER_BUSY' },
  10107: { code: 'SERVER_BUSY' },
  // ExceededTimeLimit, MaxTimeMSExpired
  262: { code: 'SERVER_BUSY' },
  50: { code: 'SERVER_BUSY' },
};

/** Driver error classes (`error.name`) without a server code. */
export const MONGODB_DRIVER_ERRORS: Record<string, FailureSpec> = {
  MongoNetworkError: { code: 'CONNECTION_LOST' },
  MongoNetworkTimeoutError: { code: 'CONNECTION_LOST' },
  MongoServerClosedError: { code: 'CONNECTION_LOST' },
  MongoTopologyClosedError: { code: 'CONNECTION_LOST' },
  // Server selection found nothing usable: with one direct host, the host did not answer like mongod.
  MongoServerSelectionError: { code: 'PROTOCOL_ERROR' },
  MongoMissingCredentialsError: { code: 'AUTH_FAILED', stage: 'auth' },
  // The server's wire versions are outside the driver's: MongoDB older than 4.4 (or newer than the driver knows).
  MongoCompatibilityError: {
    code: 'AUTH_UNSUPPORTED',
    stage: 'auth',
    message: (c) =>
      `The MongoDB server at ${c.host}:${c.port} runs a version this service cannot log in to (MongoDB 4.4 or later is needed)`,
    hint: () =>
      'Connect to MongoDB 4.4 or later. If the server is newer than this service knows, ask its operators to update it.',
  },
};

/** The error and what it wraps (`cause`; the last error of each server of a selection failure). */
function* errorChain(error: unknown, depth = 0): Generator<unknown> {
  if (!error || typeof error !== 'object' || depth > 5) return;
  yield error;
  const { cause, reason } = error as {
    cause?: unknown;
    reason?: { servers?: Map<string, { error?: unknown }> };
  };
  yield* errorChain(cause, depth + 1);
  for (const server of reason?.servers?.values() ?? []) yield* errorChain(server.error, depth + 1);
}

/** Server codes anywhere in the chain win over driver classes (an auth failure inside a selection error). */
export function mongodbFailure(error: unknown): FailureSpec | undefined {
  const chain = [...errorChain(error)];
  for (const link of chain) {
    const code = (link as { code?: unknown }).code;
    if (typeof code === 'number' && MONGODB_SERVER_ERRORS[code]) return MONGODB_SERVER_ERRORS[code];
  }
  for (const link of chain) {
    const name = (link as { name?: unknown }).name;
    if (typeof name === 'string' && MONGODB_DRIVER_ERRORS[name]) return MONGODB_DRIVER_ERRORS[name];
  }
  return undefined;
}
