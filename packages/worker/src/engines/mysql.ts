import { connect, type Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import mysql2 from 'mysql2';
import { type FailureSpec, fail, StageFailure } from '../failures/stage-failure.js';
import { assembleTables, selectTables } from './discovery.js';
import { mysqlFailure } from './mysql.errors.js';
import { authenticatedPlugin, firstAnswerPlugin, isWeakPasswordPlugin } from './mysql-auth-plugin.js';
import { mysqlPacketLength, parseMysqlGreeting } from './mysql-greeting.js';
import { DialSessions } from './session.js';
import { readUnit } from './socket-io.js';
import { mysqlSslOptions } from './ssl-options.js';
import { classifyTlsError, describeTls, TLS_ERROR_CODES } from './tls.js';
import type { EngineAdapter, EngineContext } from './types.js';

type Connection = mysql2.Connection;

/** A mysql2 connection as it is driven here: login started, TLS (if any) and login observed apart. */
interface Login {
  connection: Connection;
  /** Settles when TLS is up (with the secure socket), or with the error that stopped it. */
  secured: Promise<TLSSocket>;
  /** Settles when the login finished. */
  loggedIn: Promise<void>;
  /** The auth plugin that authenticated (once `loggedIn` has settled). */
  authPlugin(): string;
}

function classify(error: unknown, tlsSocket?: TLSSocket): StageFailure {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'HANDSHAKE_SSL_ERROR')
    return classifyTlsError(error, tlsSocket?.authorizationError as string | undefined);
  // A TLS alert after the handshake (TLS 1.3 reports a refused client certificate only then).
  if (typeof code === 'string' && TLS_ERROR_CODES[code]) return classifyTlsError(error);
  const known = mysqlFailure(error);
  return known ? fail(known, error) : fail('PROTOCOL_ERROR', error);
}

/**
 * Starts mysql2 on the tcp stage's socket. mysql2 swaps `connection.stream` for its TLSSocket
 * inside the handshake and offers no event for it; watching that assignment is how the tls stage
 * learns when the handshake starts and ends, apart from the login that follows.
 */
function startLogin(ctx: EngineContext, useTls: boolean, advertised: string | undefined): Login {
  const { settings, socket, tls } = ctx;
  const ssl = useTls ? mysqlSslOptions(tls) : undefined;
  if (useTls) {
    // For an IP literal mysql2 passes neither `servername` nor `host` to tls.connect, and Node then
    // checks the certificate against `socket._host` (set by net.connect only for names) or else
    // "localhost". Name the socket after the host the user gave, so the right name is checked.
    (socket as Socket & { _host?: string })._host = tls.host;
  }
  let refusedCleartext = false;
  // Every plugin mysql2 has, wrapped to note the name an AuthSwitchRequest asks for — all but the
  // one mysql2 answers the greeting with, since a plugin registered for that one would make mysql2
  // answer with mysql_native_password instead (and the server switch back).
  let switchedTo: string | undefined;
  const first = firstAnswerPlugin(advertised, useTls);
  const noted: Record<string, mysql2.AuthPlugin> = {};
  for (const [name, plugin] of Object.entries(mysql2.authPlugins)) {
    if (name === first || name === 'mysql_clear_password') continue;
    noted[name] = (metadata) => {
      switchedTo = name;
      return plugin({})(metadata);
    };
  }
  const connection = mysql2.createConnection({
    stream: socket,
    // Not dialled (the stream is open already): the name mysql2 gives TLS for SNI and the name check.
    host: tls.host,
    port: settings.port,
    user: settings.userName,
    password: settings.password,
    ...(ssl ? { ssl } : {}),
    // The stage deadlines govern; a driver timer would only race them.
    connectTimeout: 0,
    authPlugins: {
      ...noted,
      // mysql_clear_password sends the password as it is: only inside TLS (docs/contract.md §8). Refused
      // before mysql2 writes anything; the flag tells the refusal apart from a plugin failure.
      mysql_clear_password: () => () => {
        switchedTo = 'mysql_clear_password';
        if (!(holder.stream instanceof TLSSocket)) {
          refusedCleartext = true;
          throw new Error('mysql_clear_password asked for without TLS');
        }
        return Buffer.from(`${settings.password}\0`);
      },
    },
  });
  const holder = connection as unknown as { stream: Socket };
  // Errors after the verification stopped listening must not crash the worker.
  connection.on('error', () => {});

  let tlsSocket: TLSSocket | undefined;
  const secured = new Promise<TLSSocket>((resolve, reject) => {
    if (!useTls) return;
    let current = holder.stream;
    Object.defineProperty(holder, 'stream', {
      configurable: true,
      get: () => current,
      set: (next: Socket) => {
        current = next;
        if (next instanceof TLSSocket) {
          tlsSocket = next;
          next.once('secureConnect', () => resolve(next));
        }
      },
    });
    connection.once('error', (error) => reject(classify(error, tlsSocket)));
  });
  secured.catch(() => {});
  const loggedIn = new Promise<void>((resolve, reject) => {
    connection.connect((error) => {
      if (!error) resolve();
      else if (refusedCleartext) reject(fail({ code: 'AUTH_CLEARTEXT_REFUSED', stage: 'auth' }, error));
      else reject(classify(error, tlsSocket));
    });
  });
  loggedIn.catch(() => {});
  return {
    connection,
    secured,
    loggedIn,
    authPlugin: () => authenticatedPlugin({ advertised, switchedTo, encrypted: useTls }),
  };
}

function query<T>(connection: Connection, sql: string, values: unknown[] = []): Promise<T[]> {
  return new Promise((resolve, reject) => {
    connection.query(sql, values, (error, rows) => (error ? reject(classify(error)) : resolve(rows as T[])));
  });
}

async function readGreeting(ctx: EngineContext, signal: AbortSignal) {
  // peek: mysql2 reads the same greeting again when it takes the socket.
  const packet = await readUnit(ctx.socket, mysqlPacketLength, { signal, peek: true });
  const greeting = parseMysqlGreeting(packet);
  if (!greeting) throw fail('PROTOCOL_ERROR');
  if (greeting.kind === 'error') {
    const known = mysqlFailure({ errno: greeting.errno });
    // Refused before any TLS or login: the failure stays where it happened.
    throw fail(known ? { ...known, stage: undefined } : 'PROTOCOL_ERROR');
  }
  return greeting;
}

/** ER_ACCESS_DENIED_ERROR: a wrong password, and also what MariaDB answers a login refused for want of TLS. */
const ACCESS_DENIED = 1045;

const TLS_REQUIRED_BY_SERVER = {
  code: 'TLS_REQUIRED',
  stage: 'auth',
  message: (c) =>
    `The server at ${c.host}:${c.port} refused the unencrypted login of user ${c.user} and accepted the same login over TLS: the server (require_secure_transport) or the account (REQUIRE SSL) demands TLS, and ssl.mode is ${c.sslMode}`,
} as const satisfies FailureSpec;

/**
 * Whether the same credentials log in over TLS, on a second socket to the same checked address
 * and port. Asked only after an access-denied answer without TLS from a server whose greeting
 * offers TLS: MariaDB answers 1045 both to a wrong password and to a login that
 * `require_secure_transport` or `REQUIRE SSL` refuses, so only this second login tells them apart
 * for certain. The certificate is not checked (the user chose no TLS at all; nothing of this
 * connection is reported), and it is closed at once.
 */
function logsInOverTls(ctx: EngineContext, signal: AbortSignal): Promise<boolean> {
  const { settings, address } = ctx;
  return new Promise((resolve) => {
    // The stage may already be over (the work goes on after its deadline): dial nothing then.
    if (signal.aborted) {
      resolve(false);
      return;
    }
    const socket = connect({ host: address, port: settings.port, noDelay: true });
    socket.on('error', () => {});
    const probe = mysql2.createConnection({
      stream: socket,
      host: ctx.tls.host,
      user: settings.userName,
      password: settings.password,
      ssl: { rejectUnauthorized: false },
      connectTimeout: 0,
    });
    probe.on('error', () => {});
    const done = (loggedIn: boolean) => {
      signal.removeEventListener('abort', onAbort);
      probe.destroy();
      socket.destroy();
      resolve(loggedIn);
    };
    const onAbort = () => done(false);
    signal.addEventListener('abort', onAbort, { once: true });
    probe.connect((error) => done(!error));
  });
}

const isAccessDenied = (failure: unknown) =>
  failure instanceof StageFailure &&
  (failure.cause as { errno?: unknown } | undefined)?.errno === ACCESS_DENIED;

/** The logged-in connection of each verified dial. */
const sessions = new DialSessions<Connection>();

/** Privileges beyond reading, as information_schema names them. */
const WRITE_PRIVILEGES = `('SUPER', 'INSERT', 'UPDATE', 'DELETE', 'CREATE', 'DROP', 'ALTER')`;
/** The grantee as information_schema writes it: 'user'@'host'. */
const GRANTEE = `CONCAT("'", SUBSTRING_INDEX(CURRENT_USER(), '@', 1), "'@'", SUBSTRING_INDEX(CURRENT_USER(), '@', -1), "'")`;
/**
 * The login's write privileges (global, on the schema, on its tables) and the schema's table
 * count. information_schema shows every account only what it may see of itself.
 */
const INSPECT_ACCOUNT = `
  SELECT (SELECT COUNT(*) FROM information_schema.USER_PRIVILEGES
           WHERE GRANTEE = ${GRANTEE} AND PRIVILEGE_TYPE IN ${WRITE_PRIVILEGES}) AS global_write,
         (SELECT COUNT(*) FROM information_schema.SCHEMA_PRIVILEGES
           WHERE GRANTEE = ${GRANTEE} AND TABLE_SCHEMA = ? AND PRIVILEGE_TYPE IN ${WRITE_PRIVILEGES}) AS schema_write,
         (SELECT COUNT(*) FROM information_schema.TABLE_PRIVILEGES
           WHERE GRANTEE = ${GRANTEE} AND TABLE_SCHEMA = ? AND PRIVILEGE_TYPE IN ${WRITE_PRIVILEGES}) AS table_write,
         (SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?) AS tables`;

/** ACCOUNT_OVERPRIVILEGED and SCHEMA_EMPTY from INSPECT_ACCOUNT; a failing query warns of nothing. */
async function inspectAccount(ctx: EngineContext, connection: Connection): Promise<void> {
  let row: Record<string, number | string> | undefined;
  try {
    [row] = await query<Record<string, number | string>>(connection, INSPECT_ACCOUNT, [
      ctx.schema,
      ctx.schema,
      ctx.schema,
    ]);
  } catch {
    return;
  }
  if (!row) return;
  const privilege =
    Number(row.global_write) > 0
      ? 'has global write or administrative privileges'
      : Number(row.schema_write) > 0
        ? `may change ${ctx.schema}`
        : Number(row.table_write) > 0
          ? `may write to tables of ${ctx.schema}`
          : undefined;
  if (privilege) ctx.warn('ACCOUNT_OVERPRIVILEGED', { privilege });
  if (Number(row.tables) === 0) ctx.warn('SCHEMA_EMPTY');
}

export const mysql: EngineAdapter = {
  displayName: 'MySQL',
  warnings: [
    'CERT_EXPIRES_SOON',
    'TLS_VERSION_WEAK',
    'TLS_IDENTITY_UNCHECKED',
    'PASSWORD_AUTH_WEAK',
    'ACCOUNT_OVERPRIVILEGED',
    'SERVER_VERSION_EOL',
    'SCHEMA_EMPTY',
  ],
  // For MySQL the schema is the database (docs/contract.md §4).
  defaultSchema: (settings) => settings.databaseName,

  async verify(ctx) {
    const { settings, stages, tls } = ctx;
    let login: Login | undefined;
    const release = () => {
      if (!login) return;
      const { connection } = login;
      return new Promise<void>((resolve) => {
        const done = () => {
          connection.destroy();
          resolve();
        };
        // COM_QUIT when logged in, so the server does not log an aborted connection.
        if (connection.authorized) {
          connection.end(done);
          setTimeout(done, 200).unref();
        } else {
          done();
        }
      });
    };
    ctx.defer(release);
    // Read in the tls stage, or at the start of the auth stage without TLS.
    let greeting: Awaited<ReturnType<typeof readGreeting>> | undefined;

    if (tls.use === 'never') {
      stages.skip('tls');
    } else {
      const tlsSocket = await stages.run(
        'tls',
        async (signal) => {
          greeting = await readGreeting(ctx, signal);
          if (!greeting.offersTls) {
            if (tls.use === 'if-offered') return undefined;
            throw fail('TLS_NOT_OFFERED');
          }
          login = startLogin(ctx, true, greeting.authPlugin);
          return login.secured;
        },
        { skippedWhen: (secure) => (secure ? undefined : 'TLS_NOT_OFFERED') },
      );
      if (tlsSocket) ctx.report.tls = describeTls(tlsSocket);
    }
    const started = await stages.run('auth', async (signal) => {
      if (login) {
        await login.loggedIn;
        return login;
      }
      // No TLS (disable, or prefer and the server has none): the login starts in clear text.
      // Under disable the greeting is read here, for the diagnosis of a refusal.
      greeting ??= await readGreeting(ctx, signal);
      const offersTls = tls.use === 'never' && greeting.offersTls;
      const plain = startLogin(ctx, false, greeting.authPlugin);
      login = plain;
      try {
        await plain.loggedIn;
      } catch (failure) {
        if (offersTls && isAccessDenied(failure) && (await logsInOverTls(ctx, signal)))
          throw fail(TLS_REQUIRED_BY_SERVER, failure);
        throw failure;
      }
      return plain;
    });
    const authPlugin = started.authPlugin();
    if (isWeakPasswordPlugin(authPlugin)) ctx.warn('PASSWORD_AUTH_WEAK', { method: authPlugin });

    await stages.run('database', async () => {
      await query(started.connection, 'USE ??', [settings.databaseName]);
      const [row] = await query<{ version: string }>(started.connection, 'SELECT VERSION() AS version');
      if (row?.version) ctx.report.version = row.version;
    });

    const { schema } = ctx;
    await stages.run('schema', async () => {
      try {
        await query(started.connection, 'USE ??', [schema]);
      } catch (error) {
        // The same errors as the database stage, about the schema this time.
        const code = (error as StageFailure).code;
        if (code === 'DATABASE_NOT_FOUND') throw fail('SCHEMA_NOT_FOUND', error);
        throw error;
      }
      await inspectAccount(ctx, started.connection);
    });
    sessions.keep(ctx, started.connection);
  },

  async discover(ctx, schema, options) {
    const connection = sessions.of(ctx);
    // The schema is a database here: filtering on it keeps every other database out, the system
    // ones (mysql, information_schema, performance_schema, sys) included. information_schema
    // shows only what the user has some privilege on. MariaDB reports system-versioned tables
    // with their own type.
    const tables = await query<{ name: string }>(
      connection,
      `SELECT TABLE_NAME AS name FROM information_schema.TABLES
        WHERE TABLE_SCHEMA = ? AND TABLE_TYPE IN ('BASE TABLE', 'VIEW', 'SYSTEM VERSIONED')`,
      [schema],
    );
    const names = selectTables(
      tables.map((t) => t.name),
      options.log,
    );
    if (names.length === 0) return [];
    const fields = await query<{ table: string; field: string }>(
      connection,
      // mysql2 expands an array bound to `IN (?)` into a list of escaped values.
      `SELECT TABLE_NAME AS \`table\`, COLUMN_NAME AS field FROM information_schema.COLUMNS
        WHERE TABLE_SCHEMA = ? AND TABLE_NAME IN (?)`,
      [schema, names],
    );
    return assembleTables(names, fields);
  },
};
