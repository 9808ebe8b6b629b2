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

/*
 * The day support ends for each release line, per engine, from endoflife.date. Its pages are built
 * from the data in github.com/endoflife-date/endoflife.date (products/<name>.md); every date below
 * was checked on 2026-12-05 against that data as of its commit a70eca3 (2026-08-22). Each table is
 * keyed by the line as `releaseLineOf` writes it; a line missing from a table is not warned about.
 * Above each table: which of the page's columns it takes.
 */

/** https://endoflife.date/postgresql (checked 2026-12-05): "Support Status" (community support). */
const POSTGRESQL_END_OF_LIFE: Readonly<Record<string, string>> = {
  '6.3': '2003-03-01',
  '6.4': '2003-10-30',
  '6.5': '2004-06-09',
  '7.0': '2005-05-08',
  '7.1': '2006-04-13',
  '7.2': '2007-02-04',
  '7.3': '2007-11-27',
  '7.4': '2010-10-01',
  '8.0': '2010-10-01',
  '8.1': '2010-11-08',
  '8.2': '2011-12-05',
  '8.3': '2013-02-07',
  '8.4': '2014-07-24',
  '9.0': '2015-10-08',
  '9.1': '2016-10-27',
  '9.2': '2017-11-09',
  '9.3': '2018-11-08',
  '9.4': '2020-02-13',
  '9.5': '2021-02-11',
  '9.6': '2021-11-11',
  '10': '2022-11-10',
  '11': '2023-11-09',
  '12': '2024-11-21',
  '13': '2025-11-13',
  '14': '2026-11-12',
  '15': '2027-11-11',
  '16': '2028-11-09',
  '17': '2029-11-08',
  '18': '2030-11-14',
};

/**
 * https://endoflife.date/mysql (checked 2026-12-05): "Extended Support" (Oracle's Premier Support
 * ends earlier). Innovation releases (8.1–8.3, 9.0–9.6) end when the next one ships; 9.7 LTS's
 * day is the page's estimate.
 */
const MYSQL_END_OF_LIFE: Readonly<Record<string, string>> = {
  '5.5': '2018-12-31',
  '5.6': '2021-02-28',
  '5.7': '2023-10-31',
  '8.0': '2026-04-30',
  '8.1': '2023-10-25',
  '8.2': '2023-12-14',
  '8.3': '2024-04-10',
  '8.4': '2032-04-30',
  '9.0': '2024-10-15',
  '9.1': '2025-01-21',
  '9.2': '2025-04-15',
  '9.3': '2025-07-22',
  '9.4': '2025-10-21',
  '9.5': '2026-01-20',
  '9.6': '2026-04-21',
  '9.7': '2034-04-21',
};

/**
 * https://endoflife.date/mariadb (checked 2026-12-05): "Community support" (MariaDB plc's
 * enterprise support, later for some lines, is sold to its customers only).
 */
const MARIADB_END_OF_LIFE: Readonly<Record<string, string>> = {
  '5.1': '2015-02-01',
  '5.2': '2015-11-10',
  '5.3': '2017-03-01',
  '5.5': '2020-04-11',
  '10.0': '2019-03-31',
  '10.1': '2020-10-17',
  '10.2': '2022-05-23',
  '10.3': '2023-05-25',
  '10.4': '2024-06-18',
  '10.5': '2025-06-24',
  '10.6': '2026-07-06',
  '10.7': '2023-02-09',
  '10.8': '2023-05-20',
  '10.9': '2023-08-22',
  '10.10': '2023-11-17',
  '10.11': '2028-02-16',
  '11.0': '2024-06-06',
  '11.1': '2024-08-21',
  '11.2': '2024-11-21',
  '11.3': '2024-05-29',
  '11.4': '2029-05-29',
  '11.5': '2024-11-21',
  '11.6': '2025-02-13',
  '11.7': '2025-05-12',
  '11.8': '2028-06-04',
  '12.0': '2025-11-18',
  '12.1': '2026-02-13',
  '12.2': '2026-05-28',
  '12.3': '2029-06-12',
};

/**
 * https://endoflife.date/mssqlserver (checked 2026-12-05): "Security Support", the end of
 * Microsoft's extended support (paid Extended Security Updates not counted). The page dates each
 * service pack; a year takes its last one's (2016 SP3, 2014 SP3, 2012 SP4, 2008 SP4 and 2008 R2
 * SP3, 2005 SP4, 2000 SP4), since the version text does not always name the service pack.
 */
const SQL_SERVER_END_OF_LIFE: Readonly<Record<string, string>> = {
  '2000': '2013-04-09',
  '2005': '2016-04-12',
  '2008': '2019-07-09',
  '2012': '2022-07-12',
  '2014': '2024-07-09',
  '2016': '2026-07-14',
  '2017': '2027-10-12',
  '2019': '2030-01-08',
  '2022': '2033-01-11',
  '2025': '2036-01-06',
};

/**
 * https://endoflife.date/oracle-database (checked 2026-12-05): "Extended Support" where Oracle
 * offers it (sold to every customer), otherwise "Premier Support" (12.2, 18c, 21c, 9i Release 1,
 * and 23ai/26ai, whose Extended Support is not announced yet).
 */
const ORACLE_END_OF_LIFE: Readonly<Record<string, string>> = {
  '9.0': '2003-12-31',
  '9.2': '2010-07-31',
  '10.1': '2012-01-01',
  '10.2': '2015-07-31',
  '11.1': '2015-08-31',
  '11.2': '2020-12-31',
  '12.1': '2022-07-31',
  '12.2': '2022-03-31',
  '18': '2021-06-30',
  '19': '2032-12-31',
  '21': '2027-07-31',
  '23': '2031-12-31',
};

/**
 * https://endoflife.date/mongodb (checked 2026-12-05): the end of support of each release,
 * Rapid Releases included.
 */
const MONGODB_END_OF_LIFE: Readonly<Record<string, string>> = {
  '1.0': '2010-08-31',
  '1.2': '2011-06-30',
  '1.4': '2012-09-30',
  '1.6': '2012-02-28',
  '1.8': '2012-09-30',
  '2.0': '2013-03-31',
  '2.2': '2014-02-28',
  '2.4': '2013-03-31',
  '2.6': '2016-10-31',
  '3.0': '2018-02-28',
  '3.2': '2018-09-30',
  '3.4': '2020-01-31',
  '3.6': '2021-04-30',
  '4.0': '2022-04-30',
  '4.2': '2023-04-30',
  '4.4': '2024-02-29',
  '5.0': '2024-10-31',
  '5.1': '2022-01-19',
  '5.2': '2022-03-23',
  '5.3': '2022-07-19',
  '6.0': '2025-07-31',
  '6.1': '2023-02-09',
  '6.2': '2023-04-24',
  '6.3': '2023-08-31',
  '7.0': '2027-08-31',
  '7.1': '2024-01-23',
  '7.2': '2024-03-27',
  '7.3': '2024-10-02',
  '8.0': '2029-10-31',
  '8.1': '2025-09-30',
  '8.2': '2026-07-31',
  '8.3': '2029-10-31',
};

/** The day support ends for each release line of each engine (MariaDB apart from MySQL). */
export const END_OF_LIFE: Record<ConnectionType | 'MARIADB', Readonly<Record<string, string>>> = {
  POSTGRESQL: POSTGRESQL_END_OF_LIFE,
  MYSQL: MYSQL_END_OF_LIFE,
  MARIADB: MARIADB_END_OF_LIFE,
  SQL_SERVER: SQL_SERVER_END_OF_LIFE,
  ORACLE: ORACLE_END_OF_LIFE,
  MONGODB: MONGODB_END_OF_LIFE,
};

/** SQL Server's product major → its year (the version text of a login names only the number). */
const SQL_SERVER_YEARS: Record<string, string> = {
  '8': '2000',
  '9': '2005',
  // 2008 (10.0) and 2008 R2 (10.50) share the line and its day.
  '10': '2008',
  '11': '2012',
  '12': '2014',
  '13': '2016',
  '14': '2017',
  '15': '2019',
  '16': '2022',
  '17': '2025',
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
      const isMariadb = /mariadb/i.test(version);
      // MariaDB's handshake puts `5.5.5-` before its version (for clients that assumed 5.x): not its line.
      const m = /^(\d+)\.(\d+)/.exec(isMariadb ? version.replace(/^5\.5\.5-/, '') : version);
      if (!m) return undefined;
      return { table: isMariadb ? 'MARIADB' : 'MYSQL', line: `${m[1]}.${m[2]}` };
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
      // Up to 12c a release is major.minor (11g Release 2 is 11.2); from 18c on the major alone.
      return { table: type, line: Number(m[1]) <= 12 ? `${m[1]}.${m[2]}` : (m[1] as string) };
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
