import type { ConnectionType } from '../schemas/connection.schema.js';
import { SSL_MODE_ALIASES, type SslMode } from '../schemas/ssl.schema.js';

/**
 * What a connection string says, in the create body's own fields (docs/contract.md §12). Every
 * field rule of the body still applies to these values afterwards; this module only reads the
 * string's syntax. A field the string does not carry is left out.
 */
export interface ConnectionStringFields {
  type: ConnectionType;
  host: string;
  port: number;
  databaseName?: string;
  userName?: string;
  password?: string;
  schema?: string;
  ssl?: { mode: SslMode };
  metadata?: Record<string, string>;
}

/**
 * A string that cannot be read. The message is safe to show: it never quotes the input, which
 * carries a password (parsers' own messages may, so they are never passed on).
 */
export class ConnectionStringError extends Error {
  override name = 'ConnectionStringError';
}

/** Strings longer than this are refused before any parsing (a password is at most 1024). */
export const CONNECTION_STRING_MAX_LENGTH = 4096;

/** The port each engine listens on when the string names none. */
export const DEFAULT_PORTS: Readonly<Record<ConnectionType, number>> = {
  POSTGRESQL: 5432,
  MYSQL: 3306,
  SQL_SERVER: 1433,
  ORACLE: 1521,
  MONGODB: 27017,
};

export const fail = (message: string): never => {
  throw new ConnectionStringError(message);
};

// ---- shared pieces

/** Parses with WHATWG URL; the parser's error (which quotes the input) is never passed on. */
export function url(text: string, what: string): URL {
  try {
    return new URL(text);
  } catch {
    return fail(
      `connectionString is not a valid ${what} URL (check the port, and percent-encode @ : / in the password)`,
    );
  }
}

export function port(raw: string | null | undefined, type: ConnectionType): number {
  if (raw === undefined || raw === null || raw === '') return DEFAULT_PORTS[type];
  if (!/^\d{1,5}$/.test(raw) || Number(raw) < 1 || Number(raw) > 65535) {
    return fail('the port in connectionString must be a whole number from 1 to 65535');
  }
  return Number(raw);
}

export function decode(component: string, what: string): string {
  try {
    return decodeURIComponent(component);
  } catch {
    return fail(`the ${what} in connectionString is not valid percent-encoding`);
  }
}

/** A URL's host without IPv6 brackets; refuses a host list (one server per connection). */
export function hostOf(parsed: URL): string {
  const host = parsed.hostname.replace(/^\[(.+)\]$/, '$1');
  if (host === '') fail('connectionString names no host');
  return decode(host, 'host');
}

/** A query parameter by any letter case of one of `names`. */
export function param(params: URLSearchParams, ...names: string[]): string | undefined {
  const wanted = new Set(names.map((n) => n.toLowerCase()));
  for (const [key, value] of params) if (wanted.has(key.toLowerCase())) return value;
  return undefined;
}

/** An ssl mode written in the service's vocabulary or an engine alias (`sslmode=` is accepted in every URL form). */
export function sslMode(value: string, what: string): SslMode {
  const mode = SSL_MODE_ALIASES[value.trim().toLowerCase()];
  return (
    mode ??
    fail(`connectionString ${what}=${value.length <= 20 ? value : '…'} is not an SSL mode this service knows`)
  );
}

export const isTrue = (v: string) => ['true', 'yes', '1', 'on'].includes(v.trim().toLowerCase());
export const isFalse = (v: string) => ['false', 'no', '0', 'off'].includes(v.trim().toLowerCase());

export function build(
  type: ConnectionType,
  parts: {
    host: string;
    port: number;
    databaseName?: string | undefined;
    userName?: string | undefined;
    password?: string | undefined;
    schema?: string | undefined;
    ssl?: SslMode | undefined;
    metadata?: Record<string, string> | undefined;
  },
): ConnectionStringFields {
  const present = (v: string | undefined) => v !== undefined && v !== '';
  return {
    type,
    host: parts.host,
    port: parts.port,
    ...(present(parts.databaseName) ? { databaseName: parts.databaseName } : {}),
    ...(present(parts.userName) ? { userName: parts.userName } : {}),
    ...(present(parts.password) ? { password: parts.password } : {}),
    ...(present(parts.schema) ? { schema: parts.schema } : {}),
    ...(parts.ssl ? { ssl: { mode: parts.ssl } } : {}),
    ...(parts.metadata && Object.keys(parts.metadata).length > 0 ? { metadata: parts.metadata } : {}),
  };
}
