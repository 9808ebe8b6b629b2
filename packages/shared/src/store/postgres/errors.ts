import pg from 'pg';
import { AppError } from '../../errors.js';
import { mapDriverError } from '../store-errors.js';
import { CONFIG_NAME_INDEX } from './migrations.js';

/** How the PostgreSQL store tells an outage from a conflict or a bug (UNAVAILABLE, CONFIG_NAME_TAKEN). */

/** SQLSTATEs that mean "the server cannot serve us now", beyond class 08 (connection exception). */
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);
const NETWORK_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);
/** node-postgres raises these without a code; their text is the only thing to recognise them by. */
const PG_CONNECTION_MESSAGES =
  /^(Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client was closed)/;
/** 57014: the server cancelled the statement (statement_timeout): the store is too slow now. */
const STATEMENT_TIMEOUT = '57014';

function isConnectionFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    return (
      code.startsWith('08') ||
      code === STATEMENT_TIMEOUT ||
      UNAVAILABLE_SQLSTATES.has(code) ||
      NETWORK_ERROR_CODES.has(code)
    );
  }
  if (error instanceof AggregateError) return error.errors.some(isConnectionFailure);
  return PG_CONNECTION_MESSAGES.test(error.message);
}

function isConfigNameConflict(error: unknown): boolean {
  return (
    error instanceof pg.DatabaseError && error.code === '23505' && error.constraint === CONFIG_NAME_INDEX
  );
}

/** A driver error as the store reports it (store-errors.ts). */
export const toStoreError = (error: unknown) =>
  mapDriverError(error, { isConfigNameConflict, isConnectionFailure });

export function isUnavailable(error: unknown): boolean {
  return error instanceof AppError && error.code === 'UNAVAILABLE';
}

export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
