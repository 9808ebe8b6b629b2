import { describe, expect, it } from 'vitest';
import { CONNECTION_TYPES, type ConnectionType } from './connection.schema.js';
import {
  END_OF_LIFE,
  endOfLife,
  isWeakTlsVersion,
  releaseLineOf,
  toWarning,
  WARNING_CODES,
} from './warnings.js';

const context = {
  engine: 'PostgreSQL',
  host: 'db.example.com',
  port: 5432,
  user: 'report',
  database: 'sales',
  schema: 'public',
  sslMode: 'require',
} as const;

describe('warnings', () => {
  it.each(WARNING_CODES)('%s has a message and a hint', (code) => {
    const warning = toWarning(code, context);
    expect(warning.code).toBe(code);
    expect(warning.message.length).toBeGreaterThan(10);
    expect(warning.hint.length).toBeGreaterThan(10);
  });

  it('reads the release line of the version text each engine reports', () => {
    expect(
      releaseLineOf('POSTGRESQL', 'PostgreSQL 15.10 (Debian 15.10-0+deb12u1) on x86_64-pc-linux-gnu'),
    ).toEqual({
      table: 'POSTGRESQL',
      line: '15',
    });
    expect(releaseLineOf('POSTGRESQL', 'PostgreSQL 9.6.24 on x86_64')).toEqual({
      table: 'POSTGRESQL',
      line: '9.6',
    });
    expect(releaseLineOf('MYSQL', '10.11.6-MariaDB-0+deb12u1')).toEqual({ table: 'MARIADB', line: '10.11' });
    expect(releaseLineOf('MYSQL', '8.0.36')).toEqual({ table: 'MYSQL', line: '8.0' });
    expect(releaseLineOf('SQL_SERVER', 'Microsoft SQL Server 2019 (RTM-CU22) - 15.0.4322.2 (X64)')).toEqual({
      table: 'SQL_SERVER',
      line: '2019',
    });
    expect(releaseLineOf('ORACLE', '19.3.0.0.0')).toEqual({ table: 'ORACLE', line: '19' });
    expect(releaseLineOf('MONGODB', '7.0.2')).toEqual({ table: 'MONGODB', line: '7.0' });
  });

  it('reads the lines whose text is easy to misread', () => {
    // MariaDB's handshake version starts with 5.5.5- (MariaDB 5.5 ended in 2020; 10.11 has not).
    expect(releaseLineOf('MYSQL', '5.5.5-10.11.19-MariaDB-0+deb12u1')).toEqual({
      table: 'MARIADB',
      line: '10.11',
    });
    expect(releaseLineOf('MYSQL', '5.5.68-MariaDB')).toEqual({ table: 'MARIADB', line: '5.5' });
    // Up to 12c an Oracle release is major.minor: 11g Release 2 is not 11g Release 1.
    expect(
      releaseLineOf('ORACLE', 'Oracle Database 11g Enterprise Edition Release 11.2.0.4.0 - 64bit Production'),
    ).toEqual({ table: 'ORACLE', line: '11.2' });
    expect(releaseLineOf('ORACLE', '12.2.0.1.0')).toEqual({ table: 'ORACLE', line: '12.2' });
    // SQL Server from the product number alone, and 2008 R2 (10.50) as 2008.
    expect(releaseLineOf('SQL_SERVER', '17.0.1000.7')).toEqual({ table: 'SQL_SERVER', line: '2025' });
    expect(releaseLineOf('SQL_SERVER', '10.50.6000.34')).toEqual({ table: 'SQL_SERVER', line: '2008' });
    expect(releaseLineOf('SQL_SERVER', 'Microsoft SQL Server 2008 R2 (SP3) - 10.50.6000.34 (X64)')).toEqual({
      table: 'SQL_SERVER',
      line: '2008',
    });
  });

  /** A version text of `line` as each engine reports it. */
  const versionText: Record<keyof typeof END_OF_LIFE, (line: string) => [ConnectionType, string]> = {
    POSTGRESQL: (line) => ['POSTGRESQL', `PostgreSQL ${line}.2 on x86_64-pc-linux-gnu`],
    MYSQL: (line) => ['MYSQL', `${line}.12`],
    MARIADB: (line) => ['MYSQL', `${line}.4-MariaDB-log`],
    SQL_SERVER: (line) => ['SQL_SERVER', `Microsoft SQL Server ${line} (RTM) - 1.0.0.0 (X64)`],
    ORACLE: (line) => ['ORACLE', line.includes('.') ? `${line}.0.4.0` : `${line}.3.0.0.0`],
    MONGODB: (line) => ['MONGODB', `${line}.5`],
  };

  it('can reach every line of every table from a version text of that line', () => {
    for (const [table, lines] of Object.entries(END_OF_LIFE) as [keyof typeof END_OF_LIFE, object][]) {
      for (const line of Object.keys(lines)) {
        const [type, text] = versionText[table](line);
        expect(releaseLineOf(type, text), `${table} ${line}`).toEqual({ table, line });
      }
    }
  });

  it('warns from the day a release line’s support ends, not before', () => {
    const [line, day] = Object.entries(END_OF_LIFE.POSTGRESQL)[0] as [string, string];
    const version = `PostgreSQL ${line}.3 on x86_64`;
    const end = new Date(`${day}T00:00:00Z`);
    expect(endOfLife('POSTGRESQL', version, new Date(end.getTime() - 1))).toBeUndefined();
    expect(endOfLife('POSTGRESQL', version, end)).toEqual({ release: line, endOfLife: day });
    expect(endOfLife('POSTGRESQL', 'PostgreSQL 99.0', end)).toBeUndefined();
  });

  it('has a dated table for every engine, each day a real date', () => {
    for (const table of [...CONNECTION_TYPES, 'MARIADB'] as const) {
      const days = Object.values(END_OF_LIFE[table]);
      expect(days.length, table).toBeGreaterThan(0);
      for (const day of days) expect(new Date(`${day}T00:00:00Z`).toISOString().slice(0, 10)).toBe(day);
    }
  });

  it('calls a protocol below TLS 1.2 weak', () => {
    expect(['SSLv3', 'TLSv1', 'TLSv1.1'].map(isWeakTlsVersion)).toEqual([true, true, true]);
    expect(['TLSv1.2', 'TLSv1.3', 'unknown'].map(isWeakTlsVersion)).toEqual([false, false, false]);
  });
});
