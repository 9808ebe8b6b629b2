import { connect, type Socket } from 'node:net';
import { checkServerIdentity, type TLSSocket } from 'node:tls';
import sql from 'mssql';
import { fail, StageFailure } from '../failures/stage-failure.js';
import { assembleTables, selectTables } from './discovery.js';
import { DialSessions } from './session.js';
import { sqlServerFailure } from './sqlserver.errors.js';
import { sqlServerTlsOptions, type TlsPolicy } from './ssl-options.js';
import { preloginEncryption, TDS_ENCRYPTION, tdsPacketLength } from './tds-prelogin.js';
import { classifyTlsError, describeTls, TLS_ERROR_CODES } from './tls.js';
import type { EngineAdapter, EngineContext } from './types.js';

/** tedious' Connection, as mssql hands it to `beforeConnect`. */
type TediousConnection = Parameters<NonNullable<sql.config['beforeConnect']>>[0];

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

/** A TLS error somewhere in the wrapping (mssql ConnectionError → originalError → tedious ESOCKET → cause). */
function tlsFailureIn(error: unknown): StageFailure | undefined {
  for (let link: unknown = error, depth = 0; link && depth < 5; depth++) {
    const { code, cause, originalError } = link as {
      code?: unknown;
      cause?: unknown;
      originalError?: unknown;
    };
    if (typeof code === 'string' && TLS_ERROR_CODES[code]) return classifyTlsError(link);
    link = originalError ?? cause;
  }
  return undefined;
}

/** Where tedious asks its connector to connect (tedious lib/connection.js `connectOnPort`). */
interface Destination {
  host: string;
  port: number;
}

/** Opens a socket to the checked address, for mssql's second and later connections. */
function openPinned(address: string, port: number, signal?: AbortSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: address, port, noDelay: true });
    const onAbort = () => socket.destroy();
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => {
      signal?.removeEventListener('abort', onAbort);
      resolve(socket);
    });
    // Stays after the connect: tedious adds its own listeners, and a late error is then a no-op here.
    socket.on('error', (error) => {
      signal?.removeEventListener('abort', onAbort);
      reject(error);
    });
  });
}

interface Pool {
  pool: sql.ConnectionPool;
  /** The first connection's TLS: up (the socket), absent (undefined: server without TLS, `prefer`), or failed. */
  secured: Promise<TLSSocket | undefined>;
  /** `pool.connect()`: mssql's test connection logged in (and was closed again). */
  loggedIn: Promise<void>;
  /** Classifies an error of the pool or of a request. */
  classify(error: unknown): StageFailure;
}

/**
 * mssql's ConnectionPool, pinned: `server` is the checked address, and tedious' `connector` is the
 * only way its connections reach the network. The connector refuses any destination but the
 * checked address and port (tedious following a routing ENVCHANGE asks for another one), hands out
 * the tcp stage's socket first and opens the later ones (mssql logs in twice: its test connection,
 * then the pool's) to the same address. Every socket gets the PRELOGIN encryption guard, every
 * connection the certificate check and the login-error listener (`beforeConnect`).
 */
function startPool(ctx: EngineContext): Pool {
  const { settings, tls } = ctx;
  const sockets = new Set<Socket>();
  const connections = new Set<TediousConnection>();
  let loginErrors: number[] = [];
  let tlsFailure: StageFailure | undefined;
  let redirected = false;
  let tcpStageSocketUsed = false;

  let settleTls: (secure: TLSSocket | undefined) => void = () => {};
  let failTls: (failure: StageFailure) => void = () => {};
  const secured = new Promise<TLSSocket | undefined>((resolve, reject) => {
    settleTls = resolve;
    failTls = reject;
  });
  secured.catch(() => {});

  const refuse = (socket: Socket, failure: StageFailure) => {
    tlsFailure = failure;
    socket.destroy();
    failTls(failure);
  };

  /**
   * The server says nothing before the client's PRELOGIN, which tedious sends after taking the
   * socket, so watching 'data' from here loses nothing. This listener is the socket's first: it
   * sees the answer before tedious does, and tedious writes the login only after parsing it.
   */
  const guardPrelogin = (socket: Socket) => {
    let answer = Buffer.alloc(0);
    const onPreloginAnswer = (chunk: Buffer) => {
      answer = Buffer.concat([answer, chunk]);
      const length = tdsPacketLength(answer);
      if (length === undefined || answer.length < length) return;
      socket.removeListener('data', onPreloginAnswer);
      const encryption = preloginEncryption(answer.subarray(0, length));
      if (tls.use === 'never') {
        // The server demands TLS (MS-TDS: ENCRYPT_REQ) and ssl.mode is disable: say so, before any
        // login (tedious would stop too, with EENCRYPT).
        if (encryption === TDS_ENCRYPTION.REQ) refuse(socket, fail({ code: 'TLS_REQUIRED', stage: 'auth' }));
        return;
      }
      // tedious starts TLS only on ON or REQ; on anything else — NOT_SUP, OFF, a value TDS does not
      // define, no ENCRYPTION option at all, not a PRELOGIN answer — it would go on in clear text.
      if (encryption === TDS_ENCRYPTION.ON || encryption === TDS_ENCRYPTION.REQ) return;
      // Stop before the login packet (the password, only XOR-scrambled) leaves.
      if (tls.use === 'always') refuse(socket, fail('TLS_NOT_OFFERED'));
      else settleTls(undefined);
    };
    socket.on('data', onPreloginAnswer);
  };

  // tedious' types declare the connector without the arguments it is called with.
  const connector = async (destination: Destination, _lookup: unknown, signal?: AbortSignal) => {
    if (destination.host !== ctx.address || destination.port !== settings.port) {
      redirected = true;
      throw new Error('the server redirected the login to another address; not followed');
    }
    const socket = tcpStageSocketUsed ? await openPinned(ctx.address, settings.port, signal) : ctx.socket;
    tcpStageSocketUsed = true;
    sockets.add(socket);
    guardPrelogin(socket);
    return socket;
  };

  const pool = new sql.ConnectionPool({
    // The checked address; the name goes to TLS as serverName (ssl-options).
    server: ctx.address,
    port: settings.port,
    user: settings.userName,
    password: settings.password,
    database: settings.databaseName,
    // Login (with its TLS) covers the tls and auth stages; the stage runner enforces each.
    connectionTimeout: ctx.stageTimeoutMs * 3,
    requestTimeout: ctx.stageTimeoutMs,
    // One connection at a time; none kept when idle. 'socket' checks a pooled connection's socket
    // instead of sending `SELECT 1` before each request.
    pool: { max: 1, min: 0 },
    validateConnection: 'socket',
    options: {
      ...sqlServerTlsOptions(tls),
      appName: 'dbconn-verifier',
      connector: connector as unknown as () => Promise<Socket>,
      // One attempt: a retry would be a new login the stages did not ask for.
      maxRetriesOnTransientErrors: 0,
    },
    beforeConnect: (connection) => {
      connections.add(connection);
      // The server's error numbers during this login (tedious' ConnectionError ELOGIN carries none).
      const errors: number[] = [];
      loginErrors = errors;
      let loggingIn = true;
      connection.once('connect', () => {
        loggingIn = false;
      });
      connection.on('errorMessage', (token) => {
        if (loggingIn) errors.push(token.number);
      });
      connection.on('secure', (secure) => {
        const failure = checkPeer(secure, tls);
        if (failure) refuse(secure, failure);
        else settleTls(secure);
      });
    },
  });
  // Errors of connections the verification no longer waits for must not crash the worker.
  pool.on('error', () => {});
  ctx.defer(async () => {
    // mssql refuses to close a pool that is still connecting: close its connections and sockets too.
    await pool.close().catch(() => {});
    for (const connection of connections) connection.close();
    for (const socket of sockets) socket.destroy();
  });

  const classify = (error: unknown): StageFailure => {
    if (error instanceof StageFailure) return error;
    // Our own verdicts first: the error tedious then reports is only the closed socket.
    if (tlsFailure) return tlsFailure;
    if (redirected) return fail('REDIRECT_REFUSED', error);
    const known = sqlServerFailure(loginErrors, error);
    return tlsFailureIn(error) ?? (known ? fail(known, error) : fail('PROTOCOL_ERROR', error));
  };
  const loggedIn = pool.connect().then(
    () => undefined,
    (error: unknown) => {
      const failure = classify(error);
      failTls(failure);
      throw failure;
    },
  );
  loggedIn.catch(() => {});
  return { pool, secured, loggedIn, classify };
}

/**
 * One query through the pool (sp_executesql), every input an nvarchar; rows as objects by column
 * name; errors classified. A request after a failed one finds the same pinned connection or logs
 * in again through the connector.
 */
async function query<T>(session: Pool, text: string, inputs: Record<string, string> = {}): Promise<T[]> {
  const request = session.pool.request();
  for (const [name, value] of Object.entries(inputs)) request.input(name, sql.NVarChar, value);
  try {
    const result = await request.query<T>(text);
    return result.recordset ?? [];
  } catch (error) {
    // A login of the pool's own connection that fails is classified like the first login; after
    // the login, the server's error numbers (RequestError.number, precedingErrors).
    throw session.classify(error);
  }
}

/** The pool of each verified dial. */
const sessions = new DialSessions<Pool>();

export const sqlServer: EngineAdapter = {
  displayName: 'SQL Server',
  warnings: ['CERT_EXPIRES_SOON', 'TLS_VERSION_WEAK', 'TLS_IDENTITY_UNCHECKED', 'SERVER_VERSION_EOL'],
  defaultSchema: () => 'dbo',

  async verify(ctx) {
    const { stages, tls } = ctx;
    const login = startPool(ctx);

    if (tls.use === 'never') {
      stages.skip('tls');
    } else {
      const secure = await stages.run('tls', () => login.secured, {
        skippedWhen: (negotiated) => (negotiated ? undefined : 'TLS_NOT_OFFERED'),
      });
      if (secure) ctx.report.tls = describeTls(secure);
    }

    await stages.run('auth', () => login.loggedIn);

    const run = <T>(text: string, inputs: Record<string, string> = {}) => query<T>(login, text, inputs);

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
    sessions.keep(ctx, login);
  },

  async discover(ctx, schema, options) {
    const session = sessions.of(ctx);
    // INFORMATION_SCHEMA shows only what the user has a permission on, in the current database;
    // filtering on the schema keeps sys and INFORMATION_SCHEMA out.
    const tables = await query<{ name: string }>(
      session,
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
      session,
      `SELECT TABLE_NAME AS [table], COLUMN_NAME AS field FROM INFORMATION_SCHEMA.COLUMNS
        WHERE TABLE_SCHEMA = @schema AND TABLE_NAME IN (${names.map((_, i) => `@t${i}`).join(', ')})`,
      inputs,
    );
    return assembleTables(names, fields);
  },
};
