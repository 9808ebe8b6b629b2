import { z } from 'zod';
import type { ConnectionType } from './connection.schema.js';
import type { SslMode } from './ssl.schema.js';

/**
 * What a passing verification may warn about (docs/contract.md §12): it works today, and this is
 * what may break it or make it riskier than reporting needs.
 */
export const WARNING_CODES = [
  'CERT_EXPIRES_SOON',
  'TLS_VERSION_WEAK',
  'TLS_IDENTITY_UNCHECKED',
  'PASSWORD_AUTH_WEAK',
  'ACCOUNT_OVERPRIVILEGED',
  'SERVER_VERSION_EOL',
  'SCHEMA_EMPTY',
] as const;
export type WarningCode = (typeof WARNING_CODES)[number];

/** A server certificate that expires within this many days is warned about. */
export const CERT_EXPIRY_WARNING_DAYS = 30;

/** What a warning's text may talk about; none of it is a secret. */
export interface WarningContext {
  engine: string;
  host: string;
  port: number;
  user: string;
  database: string;
  schema: string;
  sslMode: SslMode;
  /** CERT_EXPIRES_SOON: when the certificate expires (ISO 8601). */
  certExpiresAt?: string | undefined;
  /** TLS_VERSION_WEAK: the protocol negotiated. */
  tlsVersion?: string | undefined;
  /** SERVER_VERSION_EOL: the release line and the day its support ended. */
  release?: string | undefined;
  endOfLife?: string | undefined;
  /** ACCOUNT_OVERPRIVILEGED: what the login may do beyond reading (`superuser`, `owns the database`…). */
  privilege?: string | undefined;
  /** PASSWORD_AUTH_WEAK: the method the server asked for. */
  method?: string | undefined;
}

type WarningText = (c: WarningContext) => string;

export const WARNINGS: Record<WarningCode, { message: WarningText; hint: WarningText }> = {
  CERT_EXPIRES_SOON: {
    message: (c) =>
      `The server certificate of ${c.host}:${c.port} expires on ${c.certExpiresAt?.slice(0, 10) ?? 'an unknown day'}, within ${CERT_EXPIRY_WARNING_DAYS} days`,
    hint: () =>
      'Ask the database administrator to renew the server certificate before that day; with verify-ca or verify-full the connection fails once it has expired.',
  },
  TLS_VERSION_WEAK: {
    message: (c) => `The server negotiated ${c.tlsVersion ?? 'a TLS version'} below TLS 1.2`,
    hint: () =>
      'Ask the database administrator to enable TLS 1.2 or 1.3 on the server (TLS 1.0 and 1.1 are deprecated by RFC 8996).',
  },
  TLS_IDENTITY_UNCHECKED: {
    message: (c) =>
      `The connection is encrypted but ssl.mode ${c.sslMode} does not check that the server is ${c.host}: anyone on the path could pose as it`,
    hint: () =>
      'Set ssl.mode to verify-full (with ssl.ca when the server certificate is not from a public authority).',
  },
  PASSWORD_AUTH_WEAK: {
    message: (c) =>
      `${c.engine} authenticated ${c.user} with ${c.method ?? 'a weak password method'}, which a captured exchange or a stolen hash can replay`,
    hint: (c) =>
      c.engine === 'PostgreSQL'
        ? 'Ask the database administrator to set password_encryption = scram-sha-256, reset the password and use scram-sha-256 in pg_hba.conf.'
        : // MariaDB's stronger plugin, ed25519, is one mysql2 cannot answer: recommending it would fail the next verification.
          'Ask the database administrator to move the account to caching_sha2_password (MySQL 8 and later). On MariaDB, whose ed25519 plugin this service cannot log in with yet, keep the exchange inside TLS (ssl.mode verify-full) and give the account a long random password.',
  },
  ACCOUNT_OVERPRIVILEGED: {
    message: (c) =>
      `${c.user} ${c.privilege ?? 'has more rights than reading'} on ${c.database}; reporting needs read-only access`,
    hint: (c) =>
      `Ask the database administrator for a login that may only read ${c.schema} (SELECT and USAGE), and use it here.`,
  },
  SERVER_VERSION_EOL: {
    message: (c) =>
      `${c.engine} ${c.release ?? ''} reached the end of its support on ${c.endOfLife ?? 'a past day'}: it gets no security fixes`,
    hint: () => 'Ask the database administrator to plan an upgrade to a supported release.',
  },
  SCHEMA_EMPTY: {
    message: (c) => `${c.schema} in ${c.database} has no tables (or none this login can see)`,
    hint: () =>
      'Check that schema names the right schema (or leave it out for the engine default), and that the login has been granted the tables.',
  },
};

export const WarningSchema = z.object({
  code: z.enum(WARNING_CODES),
  message: z.string(),
  hint: z.string(),
});
export type Warning = z.infer<typeof WarningSchema>;

/** A warning as results carry it. */
export const toWarning = (code: WarningCode, context: WarningContext): Warning => ({
  code,
  message: WARNINGS[code].message(context),
  hint: WARNINGS[code].hint(context),
});

/**
 * The day support ends for each release line (the vendor's published dates; extended support
 * where the vendor sells it to everyone: SQL Server, Oracle). A release line missing here is not
 * warned about. Keyed by the line as `releaseLineOf` writes it.
 */
export const END_OF_LIFE: Record<ConnectionType | 'MARIADB', Readonly<Record<string, string>>> = {
  POSTGRESQL: {
    '9.6': '2021-11-11',
    '10': '2022-11-10',
    '11': '2023-11-09',
    '12': '2024-11-21',
    '13': '2025-11-13',
    '14': '2026-11-12',
    '15': '2027-11-11',
    '16': '2028-11-09',
    '17': '2029-11-08',
  },
  MYSQL: { '5.6': '2021-02-28', '5.7': '2023-10-31', '8.0': '2026-04-30', '8.4': '2032-04-30' },
  MARIADB: {
    '10.3': '2023-05-25',
    '10.4': '2024-06-18',
    '10.5': '2025-06-24',
    '10.6': '2026-07-06',
    '10.11': '2028-02-16',
    '11.4': '2029-05-29',
  },
  SQL_SERVER: {
    '2012': '2022-07-12',
    '2014': '2024-07-09',
    '2016': '2026-07-14',
    '2017': '2027-10-12',
    '2019': '2030-01-08',
    '2022': '2033-01-11',
  },
  ORACLE: {
    '12.1': '2022-07-31',
    '12.2': '2022-03-31',
    '18': '2021-06-30',
    '19': '2032-12-31',
    '21': '2027-07-31',
  },
  MONGODB: {
    '4.4': '2024-02-29',
    '5.0': '2024-10-31',
    '6.0': '2025-07-31',
    '7.0': '2027-08-31',
    '8.0': '2029-10-31',
  },
};

/** SQL Server's product major → its year. */
const SQL_SERVER_YEARS: Record<string, string> = {
  '11': '2012',
  '12': '2014',
  '13': '2016',
  '14': '2017',
  '15': '2019',
  '16': '2022',
};

/**
 * The release line a server's version text names, as END_OF_LIFE keys it (MariaDB answers as
 * MYSQL and is told apart by its text), or undefined when the text says nothing usable.
 */
export function releaseLineOf(
  type: ConnectionType,
  version: string,
): { table: ConnectionType | 'MARIADB'; line: string } | undefined {
  switch (type) {
    case 'POSTGRESQL': {
      const m = /(?:PostgreSQL\s+)?(\d+)(?:\.(\d+))?/.exec(version);
      if (!m) return undefined;
      const major = Number(m[1]);
      return { table: type, line: major < 10 ? `${m[1]}.${m[2] ?? '0'}` : String(major) };
    }
    case 'MYSQL': {
      const m = /^(\d+)\.(\d+)/.exec(version);
      if (!m) return undefined;
      return { table: /mariadb/i.test(version) ? 'MARIADB' : 'MYSQL', line: `${m[1]}.${m[2]}` };
    }
    case 'SQL_SERVER': {
      const year = /SQL Server (\d{4})/.exec(version)?.[1];
      if (year) return { table: type, line: year };
      const major = /^(\d+)\./.exec(version)?.[1];
      const mapped = major ? SQL_SERVER_YEARS[major] : undefined;
      return mapped ? { table: type, line: mapped } : undefined;
    }
    case 'ORACLE': {
      const m = /(\d+)\.(\d+)/.exec(version);
      if (!m) return undefined;
      return { table: type, line: m[1] === '12' ? `12.${m[2]}` : (m[1] as string) };
    }
    case 'MONGODB': {
      const m = /^(\d+)\.(\d+)/.exec(version);
      return m ? { table: type, line: `${m[1]}.${m[2]}` } : undefined;
    }
    default: {
      const unknown: never = type;
      return unknown;
    }
  }
}

/** The release line and the day its support ended, when that day is on or before `now`. */
export function endOfLife(
  type: ConnectionType,
  version: string,
  now: Date,
): { release: string; endOfLife: string } | undefined {
  const release = releaseLineOf(type, version);
  if (!release) return undefined;
  const day = END_OF_LIFE[release.table][release.line];
  if (!day || new Date(`${day}T00:00:00Z`).getTime() > now.getTime()) return undefined;
  return { release: release.line, endOfLife: day };
}

/** Whether a negotiated protocol name (`TLSv1.1`, `SSLv3`) is below TLS 1.2. */
export function isWeakTlsVersion(version: string): boolean {
  if (/^SSL/i.test(version)) return true;
  const m = /^TLSv(\d+)(?:\.(\d+))?$/i.exec(version);
  if (!m) return false;
  return Number(m[1]) === 1 && Number(m[2] ?? 0) < 2;
}
