import type { TLSSocket } from 'node:tls';
import oracledb from 'oracledb';
import { fail, StageFailure } from '../verify/stage-failure.js';
import { runListenerTlsStage } from './listener-tls.js';
import { oracleFailure } from './oracle.errors.js';
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
export function subjectDn(secure: TLSSocket | undefined): string | undefined {
  const subject = secure?.getPeerCertificate()?.subject as Record<string, unknown> | undefined;
  if (!subject) return undefined;
  const parts: string[] = [];
  for (const [key, value] of Object.entries(subject)) {
    if (typeof value !== 'string' || /[,=]/.test(value)) return undefined;
    parts.push(`${key}=${value}`);
  }
  return parts.length > 0 ? parts.join(',') : undefined;
}

export const oracle: EngineAdapter = {
  displayName: 'Oracle',
  // Unquoted Oracle identifiers are upper case: user scott owns schema SCOTT.
  defaultSchema: (settings) => settings.userName.toUpperCase(),

  async verify(ctx) {
    const { settings, stages, tls, address } = ctx;
    const probe = await runListenerTlsStage(ctx);
    const tlsOptions = oracleTlsOptions(tls, {
      useTls: probe.useTls,
      certSubjectDn: subjectDn(probe.secure),
    });
    const service = settings.metadata.serviceName ?? settings.databaseName;
    const seconds = Math.max(1, Math.ceil(ctx.stageTimeoutMs / 1000));

    let pending: Promise<oracledb.Connection> | undefined;
    ctx.defer(() => {
      // Not awaited: a login still running after its deadline is closed whenever it ends.
      pending?.then((connection) => connection.close()).catch(() => {});
    });

    const connection = await stages.run('auth', async () => {
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
      // The checked address, never the name (the thin driver would resolve a name itself). An
      // IPv6 address goes in bare: the driver tests HOST with net.isIP.
      const connectString =
        `(DESCRIPTION=(ADDRESS=(PROTOCOL=${tlsOptions.protocol})(HOST=${address})(PORT=${settings.port}))` +
        `(CONNECT_DATA=(SERVICE_NAME=${service})))`;
      pending = oracledb.getConnection({
        user: settings.userName,
        password: settings.password,
        connectString,
        sslServerDNMatch: tlsOptions.sslServerDNMatch,
        ...(tlsOptions.sslServerCertDN ? { sslServerCertDN: tlsOptions.sslServerCertDN } : {}),
        ...(tlsOptions.walletContent ? { walletContent: tlsOptions.walletContent } : {}),
        connectTimeout: seconds,
        transportConnectTimeout: seconds,
      });
      try {
        return await pending;
      } catch (error) {
        throw classify(error);
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

    const schema = settings.schema ?? oracle.defaultSchema(settings);
    await stages.run('schema', async () => {
      try {
        const owners = await connection.execute<[string]>(
          'SELECT username FROM all_users WHERE username IN (:exact, UPPER(:exact))',
          { exact: schema },
        );
        const owner = owners.rows?.[0]?.[0];
        if (!owner) throw fail('SCHEMA_NOT_FOUND');
        if (owner === settings.userName.toUpperCase()) return;
        // Another user's schema: readable when at least one of its tables or views is visible.
        // (An empty schema reads as "not readable": Oracle cannot tell the two apart for us.)
        const visible = await connection.execute<[number]>(
          `SELECT COUNT(*) FROM (SELECT table_name FROM all_tables WHERE owner = :owner
             UNION ALL SELECT view_name FROM all_views WHERE owner = :owner)`,
          { owner },
        );
        if ((visible.rows?.[0]?.[0] ?? 0) === 0) throw fail({ code: 'PERMISSION_DENIED', stage: 'schema' });
      } catch (error) {
        throw classify(error);
      }
    });
  },
};
