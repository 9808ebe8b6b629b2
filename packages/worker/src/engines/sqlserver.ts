import { checkServerIdentity, type TLSSocket } from 'node:tls';
import sql from 'mssql';
import { fail, type StageFailure } from '../verify/stage-failure.js';
import { assembleTables, selectTables } from './discovery.js';
import { DialSessions } from './session.js';
import { sqlServerFailure } from './sqlserver.errors.js';
import { sqlServerTlsOptions, type TlsPolicy } from './ssl-options.js';
import { preloginEncryption, TDS_ENCRYPTION, tdsPacketLength } from './tds-prelogin.js';
import { classifyTlsError, describeTls, TLS_ERROR_CODES } from './tls.js';
import type { EngineAdapter, EngineContext } from './types.js';

/**
 * What tedious cannot check itself, checked when it emits 'secure' (the handshake is done, the
 * login packet not yet written): the chain without the name (verify-ca, require with a CA), and
 * the name against the host the user gave rather than the dialled address.
 */
function checkPeer(secure: TLSSocket, policy: TlsPolicy): StageFailure | undefined {
  const chainError = secure.authorizationError as unknown as string | null | undefined;
  if (policy.verifyChain && chainError && chainError !== 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return classifyTlsError({ code: chainError });
  }
  if (policy.verifyHostname) {
    const mismatch = checkServerIdentity(policy.host, secure.getPeerCertificate());
    if (mismatch) return fail('TLS_HOSTNAME_MISMATCH', mismatch);
  }
  return undefined;
}

/** A TLS error somewhere in tedious' wrapping (ConnectionError ESOCKET → cause). */
function tlsFailureIn(error: unknown): StageFailure | undefined {
  for (let link: unknown = error, depth = 0; link && depth < 4; depth++) {
    const { code, cause, originalError } = link as {
      code?: unknown;
      cause?: unknown;
      originalError?: unknown;
    };
    if (typeof code === 'string' && TLS_ERROR_CODES[code]) return classifyTlsError(link);
    link = cause ?? originalError;
  }
  return undefined;
}

interface Login {
  pool: sql.ConnectionPool;
  /** Settles when TLS is up, with undefined when the server has none, or with the failure. */
  secured: Promise<TLSSocket | undefined>;
  loggedIn: Promise<void>;
}

function startLogin(ctx: EngineContext): Login {
  const { settings, socket, tls } = ctx;
  const loginErrors: number[] = [];
  let tlsFailure: StageFailure | undefined;

  let settleTls: (secure: TLSSocket | undefined) => void = () => {};
  let failTls: (failure: StageFailure) => void = () => {};
  const secured = new Promise<TLSSocket | undefined>((resolve, reject) => {
    settleTls = resolve;
    failTls = reject;
  });
  secured.catch(() => {});

  // The server says nothing before the client's PRELOGIN, which tedious sends after taking the
  // socket, so watching 'data' from here loses nothing.
  let answer = Buffer.alloc(0);
  const onPreloginAnswer = (chunk: Buffer) => {
    answer = Buffer.concat([answer, chunk]);
    const length = tdsPacketLength(answer);
    if (length === undefined || answer.length < length) return;
    socket.removeListener('data', onPreloginAnswer);
    const encryption = preloginEncryption(answer.subarray(0, length));
    // Not a PRELOGIN answer: tedious will report what it got.
    if (encryption === undefined) return;
    const offersTls = encryption === TDS_ENCRYPTION.ON || encryption === TDS_ENCRYPTION.REQ;
    if (offersTls || tls.use === 'never') return;
    if (tls.use === 'always') {
      // tedious would go on in clear text; stop before the login packet leaves.
      tlsFailure = fail('TLS_NOT_OFFERED');
      socket.destroy();
      failTls(tlsFailure);
    } else {
      settleTls(undefined);
    }
  };
  socket.on('data', onPreloginAnswer);

  let connectorUsed = false;
  const pool = new sql.ConnectionPool({
    // The checked address; the name goes to TLS as serverName (ssl-options).
    server: ctx.address,
    port: settings.port,
    user: settings.userName,
    password: settings.password,
    database: settings.databaseName,
    connectionTimeout: ctx.stageTimeoutMs * 3,
    requestTimeout: ctx.stageTimeoutMs,
    pool: { min: 0, max: 1 },
    options: {
      ...sqlServerTlsOptions(tls),
      appName: 'dbconn-verifier',
      // The socket of the tcp stage, connected to the checked address. One socket, one attempt:
      // a second call would be tedious following a routing redirect to an unchecked host.
      connector: async () => {
        if (connectorUsed) throw new Error('the server redirected the login elsewhere; not followed');
        connectorUsed = true;
        return socket;
      },
      maxRetriesOnTransientErrors: 0,
    },
    beforeConnect: (connection) => {
      connection.on('errorMessage', (token) => loginErrors.push(token.number));
      connection.on('secure', (secure) => {
        tlsFailure = checkPeer(secure, tls);
        if (tlsFailure) {
          socket.destroy();
          failTls(tlsFailure);
        } else {
          settleTls(secure);
        }
      });
    },
  });
  pool.on('error', () => {});

  const classifyLoginError = (error: unknown): StageFailure => {
    // Our own TLS verdict first: the error tedious then reports is only the closed socket.
    if (tlsFailure) return tlsFailure;
    const known = sqlServerFailure(loginErrors, error);
    return tlsFailureIn(error) ?? (known ? fail(known, error) : fail('PROTOCOL_ERROR', error));
  };
  const loggedIn = pool.connect().then(
    () => undefined,
    (error: unknown) => {
      const failure = classifyLoginError(error);
      failTls(failure);
      throw failure;
    },
  );
  loggedIn.catch(() => {});
  return { pool, secured, loggedIn };
}

/** One query on the logged-in pool, every input an nvarchar; errors classified. */
async function query<T>(pool: sql.ConnectionPool, text: string, inputs: Record<string, string> = {}) {
  const request = pool.request();
  for (const [name, value] of Object.entries(inputs)) request.input(name, sql.NVarChar, value);
  try {
    return (await request.query<T>(text)).recordset;
  } catch (error) {
    const known = sqlServerFailure([], error);
    throw known ? fail(known, error) : fail('PROTOCOL_ERROR', error);
  }
}

/** The logged-in pool of each verified dial. */
const sessions = new DialSessions<sql.ConnectionPool>();

export const sqlServer: EngineAdapter = {
  displayName: 'SQL Server',
  defaultSchema: () => 'dbo',

  async verify(ctx) {
    const { settings, stages, tls } = ctx;
    const login = startLogin(ctx);
    ctx.defer(() => login.pool.close());

    if (tls.use === 'never') {
      stages.skip('tls');
    } else {
      const secure = await stages.run('tls', () => login.secured, {
        skippedWhen: (negotiated) => (negotiated ? undefined : 'TLS_NOT_OFFERED'),
      });
      if (secure) ctx.report.tls = describeTls(secure);
    }

    await stages.run('auth', () => login.loggedIn);

    const run = <T>(text: string, inputs: Record<string, string> = {}) => query<T>(login.pool, text, inputs);

    await stages.run('database', async () => {
      const [row] = await run<{ version: string }>('SELECT @@VERSION AS version');
      if (row?.version) ctx.report.version = row.version;
    });

    const schema = settings.schema ?? sqlServer.defaultSchema(settings);
    await stages.run('schema', async () => {
      const [row] = await run<{ canSelect: number | null }>(
        `SELECT HAS_PERMS_BY_NAME(name, 'SCHEMA', 'SELECT') AS canSelect FROM sys.schemas WHERE name = @schema`,
        { schema },
      );
      if (!row) throw fail('SCHEMA_NOT_FOUND');
      if (row.canSelect !== 1) throw fail({ code: 'PERMISSION_DENIED', stage: 'schema' });
    });
    sessions.keep(ctx, login.pool);
  },

  async discover(ctx, schema, options) {
    const pool = sessions.of(ctx);
    // INFORMATION_SCHEMA shows only what the user has a permission on, in the current database;
    // filtering on the schema keeps sys and INFORMATION_SCHEMA out.
    const tables = await query<{ name: string }>(
      pool,
      `SELECT TABLE_NAME AS name FROM INFORMATION_SCHEMA.TABLES
        WHERE TABLE_SCHEMA = @schema AND TABLE_TYPE IN ('BASE TABLE', 'VIEW')`,
      { schema },
    );
    const names = selectTables(
      tables.map((t) => t.name),
      options.log,
    );
    if (names.length === 0) return [];
    // One parameter per table: at most MAX_DISCOVERED_TABLES (1000) + 1, under SQL Server's 2100.
    const inputs: Record<string, string> = { schema };
    names.forEach((name, i) => {
      inputs[`t${i}`] = name;
    });
    const fields = await query<{ table: string; field: string }>(
      pool,
      `SELECT TABLE_NAME AS [table], COLUMN_NAME AS field FROM INFORMATION_SCHEMA.COLUMNS
        WHERE TABLE_SCHEMA = @schema AND TABLE_NAME IN (${names.map((_, i) => `@t${i}`).join(', ')})`,
      inputs,
    );
    return assembleTables(names, fields);
  },
};
