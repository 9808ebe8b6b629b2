import type { Socket } from 'node:net';
import { checkServerIdentity, type TLSSocket } from 'node:tls';
// tedious directly, not mssql (the library the design names, itself built on tedious): mssql's
// ConnectionPool opens a test connection, closes it and opens another for the first query, and the
// adapter has exactly one socket — the tcp stage's, connected to the address the egress policy
// checked. One tedious Connection over that socket runs the login, every query and the discovery.
import { Connection, Request, TYPES } from 'tedious';
import { fail, type StageFailure } from '../failures/stage-failure.js';
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
    const { code, cause } = link as { code?: unknown; cause?: unknown };
    if (typeof code === 'string' && TLS_ERROR_CODES[code]) return classifyTlsError(link);
    link = cause;
  }
  return undefined;
}

interface Login {
  connection: Connection;
  /** Settles when TLS is up, with undefined when the server has none, or with the failure. */
  secured: Promise<TLSSocket | undefined>;
  loggedIn: Promise<void>;
}

function startLogin(ctx: EngineContext): Login {
  const { settings, socket, tls } = ctx;
  const loginErrors: number[] = [];
  let loggingIn = true;
  let tlsFailure: StageFailure | undefined;
  let redirected = false;

  let settleTls: (secure: TLSSocket | undefined) => void = () => {};
  let failTls: (failure: StageFailure) => void = () => {};
  const secured = new Promise<TLSSocket | undefined>((resolve, reject) => {
    settleTls = resolve;
    failTls = reject;
  });
  secured.catch(() => {});

  // The server says nothing before the client's PRELOGIN, which tedious sends after taking the
  // socket, so watching 'data' from here loses nothing. This listener is the socket's first: it
  // sees the answer before tedious does, and tedious writes the login only after parsing it.
  let answer = Buffer.alloc(0);
  const onPreloginAnswer = (chunk: Buffer) => {
    answer = Buffer.concat([answer, chunk]);
    const length = tdsPacketLength(answer);
    if (length === undefined || answer.length < length) return;
    socket.removeListener('data', onPreloginAnswer);
    if (tls.use === 'never') return;
    // tedious starts TLS only on ON or REQ; on anything else — NOT_SUP, OFF, a value TDS does not
    // define, no ENCRYPTION option at all, not a PRELOGIN answer — it would go on in clear text.
    const encryption = preloginEncryption(answer.subarray(0, length));
    if (encryption === TDS_ENCRYPTION.ON || encryption === TDS_ENCRYPTION.REQ) return;
    if (tls.use === 'always') {
      // Stop before the login packet (the password, only XOR-scrambled) leaves.
      tlsFailure = fail('TLS_NOT_OFFERED');
      socket.destroy();
      failTls(tlsFailure);
    } else {
      settleTls(undefined);
    }
  };
  socket.on('data', onPreloginAnswer);

  let connectorUsed = false;
  const connection = new Connection({
    // The checked address; the name goes to TLS as serverName (ssl-options).
    server: ctx.address,
    authentication: {
      type: 'default',
      options: { userName: settings.userName, password: settings.password },
    },
    options: {
      ...sqlServerTlsOptions(tls),
      port: settings.port,
      database: settings.databaseName,
      appName: 'dbconn-verifier',
      // Login (with its TLS) covers the tls and auth stages; the stage runner enforces each.
      connectTimeout: ctx.stageTimeoutMs * 3,
      requestTimeout: ctx.stageTimeoutMs,
      // The socket of the tcp stage, connected to the checked address. One socket, one attempt:
      // a second call would be tedious following a routing redirect to an unchecked host (or
      // retrying, which maxRetriesOnTransientErrors: 0 rules out).
      connector: async (): Promise<Socket> => {
        if (connectorUsed) {
          redirected = true;
          throw new Error('the server redirected the login elsewhere; not followed');
        }
        connectorUsed = true;
        return socket;
      },
      maxRetriesOnTransientErrors: 0,
    },
  });
  // Socket errors after the login also fail the request in flight, which reports them.
  connection.on('error', () => {});
  // The server's error numbers during the login (tedious' ConnectionError ELOGIN carries none).
  connection.on('errorMessage', (token) => {
    if (loggingIn) loginErrors.push(token.number);
  });
  connection.on('secure', (secure) => {
    tlsFailure = checkPeer(secure, tls);
    if (tlsFailure) {
      socket.destroy();
      failTls(tlsFailure);
    } else {
      settleTls(secure);
    }
  });

  const classifyLoginError = (error: unknown): StageFailure => {
    // Our own TLS verdict first: the error tedious then reports is only the closed socket.
    if (tlsFailure) return tlsFailure;
    if (redirected) return fail('REDIRECT_REFUSED', error);
    const known = sqlServerFailure(loginErrors, error);
    return tlsFailureIn(error) ?? (known ? fail(known, error) : fail('PROTOCOL_ERROR', error));
  };
  const loggedIn = new Promise<void>((resolve, reject) => {
    connection.connect((error) => {
      loggingIn = false;
      if (!error) {
        resolve();
        return;
      }
      const failure = classifyLoginError(error);
      failTls(failure);
      reject(failure);
    });
  });
  loggedIn.catch(() => {});
  return { connection, secured, loggedIn };
}

/**
 * One query on the logged-in connection (sp_executesql), every input an nvarchar; rows as objects
 * by column name; errors classified. One request at a time: each awaits the previous.
 */
function query<T>(connection: Connection, text: string, inputs: Record<string, string> = {}): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const rows: T[] = [];
    const request = new Request(text, (error) => {
      if (!error) {
        resolve(rows);
        return;
      }
      const known = sqlServerFailure([], error);
      reject(known ? fail(known, error) : fail('PROTOCOL_ERROR', error));
    });
    for (const [name, value] of Object.entries(inputs)) request.addParameter(name, TYPES.NVarChar, value);
    request.on('row', (columns: { metadata: { colName: string }; value: unknown }[]) => {
      rows.push(Object.fromEntries(columns.map((column) => [column.metadata.colName, column.value])) as T);
    });
    connection.execSql(request);
  });
}

/** The logged-in connection of each verified dial. */
const sessions = new DialSessions<Connection>();

export const sqlServer: EngineAdapter = {
  displayName: 'SQL Server',
  defaultSchema: () => 'dbo',

  async verify(ctx) {
    const { stages, tls } = ctx;
    const login = startLogin(ctx);
    // Closes the socket too, whatever state the login or a query is in.
    ctx.defer(() => login.connection.close());

    if (tls.use === 'never') {
      stages.skip('tls');
    } else {
      const secure = await stages.run('tls', () => login.secured, {
        skippedWhen: (negotiated) => (negotiated ? undefined : 'TLS_NOT_OFFERED'),
      });
      if (secure) ctx.report.tls = describeTls(secure);
    }

    await stages.run('auth', () => login.loggedIn);

    const run = <T>(text: string, inputs: Record<string, string> = {}) =>
      query<T>(login.connection, text, inputs);

    await stages.run('database', async () => {
      const [row] = await run<{ version: string }>('SELECT @@VERSION AS version');
      if (row?.version) ctx.report.version = row.version;
    });

    const { schema } = ctx;
    await stages.run('schema', async () => {
      const [row] = await run<{ canSelect: number | null }>(
        `SELECT HAS_PERMS_BY_NAME(name, 'SCHEMA', 'SELECT') AS canSelect FROM sys.schemas WHERE name = @schema`,
        { schema },
      );
      if (!row) throw fail('SCHEMA_NOT_FOUND');
      if (row.canSelect !== 1) throw fail({ code: 'PERMISSION_DENIED', stage: 'schema' });
    });
    sessions.keep(ctx, login.connection);
  },

  async discover(ctx, schema, options) {
    const connection = sessions.of(ctx);
    // INFORMATION_SCHEMA shows only what the user has a permission on, in the current database;
    // filtering on the schema keeps sys and INFORMATION_SCHEMA out.
    const tables = await query<{ name: string }>(
      connection,
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
      connection,
      `SELECT TABLE_NAME AS [table], COLUMN_NAME AS field FROM INFORMATION_SCHEMA.COLUMNS
        WHERE TABLE_SCHEMA = @schema AND TABLE_NAME IN (${names.map((_, i) => `@t${i}`).join(', ')})`,
      inputs,
    );
    return assembleTables(names, fields);
  },
};
