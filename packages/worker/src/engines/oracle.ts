import type { PeerCertificate } from 'node:tls';
import oracledb from 'oracledb';
import { type Pin, withPinnedSockets } from '../egress/pinned-sockets.js';
import { fail, StageFailure } from '../failures/stage-failure.js';
import { assembleTables, selectTables } from './discovery.js';
import { runListenerTlsStage, tlsRequiredOr } from './listener-tls.js';
import { oracleFailure } from './oracle.errors.js';
import { DialSessions } from './session.js';
import { oracleTlsOptions } from './ssl-options.js';
import type { EngineAdapter } from './types.js';

/** Service names are identifiers; anything else could smuggle another ADDRESS into the descriptor. */
const SERVICE_NAME = /^[A-Za-z0-9_.$#-]{1,128}$/;

const classify = (error: unknown) => {
  if (error instanceof StageFailure) return error;
  const known = oracleFailure(error);
  return known ? fail(known, error) : fail('PROTOCOL_ERROR', error);
};

/**
 * The certificate subject as node-oracledb's `sslServerCertDN` expects it (`CN=..,O=..`), when it
 * can be written that way (no multi-valued attribute, no comma or equals sign in a value).
 */
export function subjectDn(certificate: PeerCertificate | undefined): string | undefined {
  const subject = certificate?.subject as Record<string, unknown> | undefined;
  if (!subject) return undefined;
  const parts: string[] = [];
  for (const [key, value] of Object.entries(subject)) {
    if (typeof value !== 'string' || /[,=]/.test(value)) return undefined;
    parts.push(`${key}=${value}`);
  }
  return parts.length > 0 ? parts.join(',') : undefined;
}

/** The logged-in connection of each verified dial, and the owner its schema stage resolved. */
const sessions = new DialSessions<{ connection: oracledb.Connection; owner: string }>();

export const oracle: EngineAdapter = {
  displayName: 'Oracle',
  warnings: ['CERT_EXPIRES_SOON', 'TLS_VERSION_WEAK', 'TLS_IDENTITY_UNCHECKED', 'SERVER_VERSION_EOL'],
  // Unquoted Oracle identifiers are upper case: user scott owns schema SCOTT.
  defaultSchema: (settings) => settings.userName.toUpperCase(),

  async verify(ctx) {
    const { settings, stages, tls, address } = ctx;
    const probe = await runListenerTlsStage(ctx);
    const tlsOptions = oracleTlsOptions(tls, {
      useTls: probe.useTls,
      certSubjectDn: subjectDn(probe.certificate),
    });
    const service = settings.metadata.serviceName ?? settings.databaseName;
    const seconds = Math.max(1, Math.ceil(ctx.stageTimeoutMs / 1000));

    let pending: Promise<oracledb.Connection> | undefined;
    ctx.defer(() => {
      // Not awaited: a login still running after its deadline is closed whenever it ends.
      pending?.then((connection) => connection.close()).catch(() => {});
    });

    const connection = await stages.run('auth', async (signal) => {
      if (tlsOptions.walletContent && !(tls.cert && tls.key)) {
        // node-oracledb loads the wallet's key unconditionally; a CA alone makes it fail (NJS-505).
        throw fail({
          code: 'TLS_CONFIG_INVALID',
          message: () => 'node-oracledb (thin mode) cannot use ssl.ca without a client certificate and key',
          hint: () =>
            'Give ssl.cert and ssl.key along with ssl.ca, or leave ssl.ca out if the server certificate is signed by a public certificate authority.',
        });
      }
      if (!SERVICE_NAME.test(service)) {
        throw fail({
          code: 'DATABASE_NOT_FOUND',
          stage: 'database',
          priorStages: 'skipped',
          message: () => `The Oracle service name ${JSON.stringify(service)} is not a valid service name`,
          hint: () => 'Correct metadata.serviceName (or databaseName when no service name is given).',
        });
      }
      if (tls.verifyHostname && probe.useTls && !tlsOptions.sslServerCertDN) {
        // The driver dials the address, so only the pinned subject can stand in for the name check;
        // without one its connection would be checked on the chain alone.
        throw fail({
          code: 'TLS_CONFIG_INVALID',
          message: () =>
            "The server certificate's subject cannot be pinned for the Oracle driver, so verify-full cannot be enforced on its connection",
          hint: () =>
            'Use verify-ca, or ask the database administrator for a certificate whose subject has single-valued attributes without commas.',
        });
      }
      // The checked address, never the name (the thin driver would resolve a name itself). An
      // IPv6 address goes in bare: the driver tests HOST with net.isIP.
      const connectString =
        `(DESCRIPTION=(ADDRESS=(PROTOCOL=${tlsOptions.protocol})(HOST=${address})(PORT=${settings.port}))` +
        `(CONNECT_DATA=(SERVICE_NAME=${service})))`;
      // A listener REDIRECT would send the driver to an address nobody checked: refused.
      const pin: Pin = { address, port: settings.port };
      pending = withPinnedSockets(pin, () =>
        oracledb.getConnection({
          user: settings.userName,
          password: settings.password,
          connectString,
          sslServerDNMatch: tlsOptions.sslServerDNMatch,
          ...(tlsOptions.sslServerCertDN ? { sslServerCertDN: tlsOptions.sslServerCertDN } : {}),
          ...(tlsOptions.walletContent ? { walletContent: tlsOptions.walletContent } : {}),
          connectTimeout: seconds,
          transportConnectTimeout: seconds,
        }),
      );
      try {
        return await pending;
      } catch (error) {
        if (pin.refused) throw fail('REDIRECT_REFUSED', error);
        // A TCPS-only listener hangs up on (or garbles) a plain TNS connect.
        throw await tlsRequiredOr(ctx, classify(error), signal);
      }
    });

    await stages.run('database', async () => {
      try {
        await connection.execute('SELECT 1 FROM DUAL');
      } catch (error) {
        throw classify(error);
      }
      ctx.report.version = connection.oracleServerVersionString;
    });

    const { schema } = ctx;
    const owner = await stages.run('schema', async () => {
      try {
        // The name as written first (a quoted, mixed-case user), then as Oracle folds it.
        const owners = await connection.execute<[string]>(
          `SELECT username FROM all_users WHERE username IN (:exact, UPPER(:exact))
            ORDER BY CASE WHEN username = :exact THEN 0 ELSE 1 END`,
          { exact: schema },
        );
        const owner = owners.rows?.[0]?.[0];
        if (!owner) throw fail('SCHEMA_NOT_FOUND');
        if (owner === settings.userName.toUpperCase()) return owner;
        // Another user's schema: readable when at least one of its tables or views is visible.
        // (An empty schema reads as "not readable": Oracle cannot tell the two apart for us.)
        const visible = await connection.execute<[number]>(
          `SELECT COUNT(*) FROM (SELECT table_name FROM all_tables WHERE owner = :owner
             UNION ALL SELECT view_name FROM all_views WHERE owner = :owner)`,
          { owner },
        );
        if ((visible.rows?.[0]?.[0] ?? 0) === 0) throw fail({ code: 'PERMISSION_DENIED', stage: 'schema' });
        return owner;
      } catch (error) {
        throw classify(error);
      }
    });
    sessions.keep(ctx, { connection, owner });
  },

  /** Oracle discovers the owner the schema stage resolved (`hr` → `HR`), not the name as given. */
  async discover(ctx, _schema, options) {
    const { connection, owner } = sessions.of(ctx);
    try {
      // The owner filter keeps SYS, SYSTEM and every other user out. Left out of the tables:
      // the recycle bin (dropped), nested-table storage, domain-index secondaries, IOT overflow
      // segments — none can be queried as a table.
      const tables = await connection.execute<[string]>(
        `SELECT table_name FROM all_tables
          WHERE owner = :owner AND dropped = 'NO' AND nested = 'NO' AND secondary = 'N'
            AND (iot_type IS NULL OR iot_type = 'IOT')
         UNION ALL SELECT view_name FROM all_views WHERE owner = :owner`,
        { owner },
      );
      const names = selectTables(
        (tables.rows ?? []).map(([name]) => name),
        options.log,
      );
      if (names.length === 0) return [];
      // One bind per table: at most MAX_DISCOVERED_TABLES (1000), Oracle's limit for an IN list.
      const binds: Record<string, string> = { owner };
      names.forEach((name, i) => {
        binds[`t${i}`] = name;
      });
      const fields = await connection.execute<[string, string]>(
        `SELECT table_name, column_name FROM all_tab_columns
          WHERE owner = :owner AND table_name IN (${names.map((_, i) => `:t${i}`).join(', ')})`,
        binds,
      );
      return assembleTables(
        names,
        (fields.rows ?? []).map(([table, field]) => ({ table, field })),
      );
    } catch (error) {
      throw classify(error);
    }
  },
};
