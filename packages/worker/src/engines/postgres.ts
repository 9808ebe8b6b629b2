import { connect, isIP, type Socket } from 'node:net';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import pg from 'pg';
import { type FailureSpec, fail, StageFailure } from '../failures/stage-failure.js';
import { assembleTables, selectTables } from './discovery.js';
import { postgresFailure } from './postgres.errors.js';
import { DialSessions } from './session.js';
import { asConnectedStream, readUnit } from './socket-io.js';
import { describeTls, startTls } from './tls.js';
import type { EngineAdapter, EngineContext } from './types.js';

/** SSLRequest: length 8, code 80877103 (PostgreSQL protocol, "SSL Session Encryption"). */
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

/**
 * Asks for TLS on the raw socket the way libpq does, so `prefer` can fall back and every TLS error
 * belongs to the tls stage. node-postgres then gets the socket (plain or TLS) ready to use.
 */
async function negotiateTls(ctx: EngineContext, signal: AbortSignal): Promise<TLSSocket | undefined> {
  const { socket, tls } = ctx;
  socket.write(SSL_REQUEST);
  const answer = await readUnit(socket, () => 1, { signal });
  if (answer[0] === 0x4e /* N */) {
    if (tls.use === 'if-offered') return undefined;
    throw fail('TLS_NOT_OFFERED');
  }
  if (answer[0] !== 0x53 /* S */) throw fail('PROTOCOL_ERROR');
  // Bytes after 'S' arrived before the handshake, in clear text: refuse them, as libpq does
  // (CVE-2021-23222).
  if (socket.readableLength > 0) throw fail('TLS_HANDSHAKE_FAILED');
  return startTls(socket, tls, signal);
}

/** StartupMessage (protocol 3.0) for `user` and `database`. */
function startupMessage(user: string, database: string): Buffer {
  const pairs = [
    ['user', user],
    ['database', database],
  ]
    .flat()
    .map((text) => Buffer.from(`${text}\0`));
  const body = Buffer.concat([Buffer.from([0, 3, 0, 0]), ...pairs, Buffer.from([0])]);
  const length = Buffer.alloc(4);
  length.writeInt32BE(body.length + 4);
  return Buffer.concat([length, body]);
}

/**
 * Whether pg_hba.conf admits this login over TLS, asked on a second socket to the same checked
 * address and port (the first one was spent on the refused login): SSLRequest, `S`, a handshake
 * (the certificate is not checked: nothing of this connection is used), the same user and
 * database, and the server's first answer. An authentication request (`R`) means a line admitted
 * it; anything else — `N`, an error, a hang-up, the caller's deadline — reads as "no". The
 * password is never sent: the socket closes on the server's first answer.
 */
function loginAdmittedOverTls(ctx: EngineContext, signal: AbortSignal): Promise<boolean> {
  const { address, settings, tls } = ctx;
  return new Promise((resolve) => {
    // The stage may already be over (the work goes on after its deadline): dial nothing then.
    if (signal.aborted) {
      resolve(false);
      return;
    }
    const raw = connect({ host: address, port: settings.port, noDelay: true });
    let secure: TLSSocket | undefined;
    const done = (admitted: boolean) => {
      signal.removeEventListener('abort', onAbort);
      secure?.destroy();
      raw.destroy();
      resolve(admitted);
    };
    const onAbort = () => done(false);
    signal.addEventListener('abort', onAbort, { once: true });
    raw.on('error', () => done(false));
    raw.once('close', () => done(false));
    raw.once('connect', () => raw.write(SSL_REQUEST));
    raw.once('data', (answer: Buffer) => {
      if (answer.length !== 1 || answer[0] !== 0x53 /* S */) {
        done(false);
        return;
      }
      const servername = isIP(tls.host) === 0 ? { servername: tls.host } : {};
      const wrapped = tlsConnect({ socket: raw, rejectUnauthorized: false, ...servername });
      secure = wrapped;
      wrapped.on('error', () => done(false));
      wrapped.once('secureConnect', () =>
        wrapped.write(startupMessage(settings.userName, settings.databaseName)),
      );
      wrapped.once('data', (first: Buffer) => done(first[0] === 0x52 /* R */));
    });
  });
}

/** SQLSTATE of a server error (node-postgres puts it in `code`). */
const sqlstateOf = (error: unknown) => (error as { code?: unknown } | null)?.code;

/**
 * pg_hba.conf refused the login (28000) on a connection without TLS, and admits the same login
 * over TLS (`hostssl` lines only): the fix is ssl.mode, not the password. Only when both facts
 * hold; a 28000 from a server without TLS, or one that refuses the login over TLS too, stays
 * AUTH_FAILED.
 */
const TLS_REQUIRED_BY_HBA = {
  code: 'TLS_REQUIRED',
  stage: 'auth',
  message: (c) =>
    `The server at ${c.host}:${c.port} refused the unencrypted login of user ${c.user} and admits it over TLS: its pg_hba.conf allows this login only with TLS, and ssl.mode is ${c.sslMode}`,
} as const satisfies FailureSpec;

function classify(error: unknown, stream: Socket) {
  // Already decided here (the cleartext password refused before it was sent).
  if (error instanceof StageFailure) return error;
  const known = postgresFailure(error);
  if (known) return fail(known, error);
  // No SQLSTATE: the server hung up, or what answered is not PostgreSQL.
  return fail(stream.destroyed || stream.closed ? 'CONNECTION_LOST' : 'PROTOCOL_ERROR', error);
}

async function query<T extends pg.QueryResultRow>(
  client: pg.Client,
  stream: Socket,
  text: string,
  values: unknown[] = [],
) {
  try {
    return await client.query<T>(text, values);
  } catch (error) {
    throw classify(error, stream);
  }
}

/** The logged-in client of each verified dial, and the stream under it (to tell a hang-up apart). */
const sessions = new DialSessions<{ client: pg.Client; stream: Socket }>();

/**
 * The database and schema checks and the account inspection, in one statement: the server's
 * version, whether schema `$1` is there (`found`) and usable, what the login may do beyond reading
 * it (superuser, database owner, CREATE on the schema, or INSERT/UPDATE/DELETE/TRUNCATE on one of
 * its tables) and whether it holds a table, view or foreign table. Catalogs and privilege functions
 * every role can read. Always one row.
 *
 * Written for a backend that has just started, where every catalog entry and statistic the planner
 * touches for the first time costs (bench/README.md, P3, measured with bench/target-session-cost.ts):
 * - one statement where there were three (version, schema check, inspection);
 * - a superuser, as the server reports at login (`is_superuser`), gets a statement without the
 *   privilege lookups: PostgreSQL plans every subquery of a statement, taken or not;
 * - the conditions on pg_class sit inside a CASE, which the planner does not estimate: estimating
 *   `relnamespace = …` reads pg_class's statistics, a third of the inspection's cost;
 * - the superuser flag is the session's setting, not the pg_roles view, and the owner's name comes
 *   from pg_get_userbyid.
 */
function sessionCheck(superuser: 'reported' | 'not reported' | 'unknown'): string {
  const inSchema = (kinds: string, also = '') =>
    `EXISTS (SELECT 1 FROM pg_class c WHERE CASE WHEN c.relnamespace = n.oid THEN c.relkind IN (${kinds})${also} END)`;
  const privileges = {
    owner: `(SELECT pg_get_userbyid(d.datdba) = current_user FROM pg_database d WHERE d.datname = current_database())`,
    can_create: `has_schema_privilege(n.oid, 'CREATE')`,
    can_write: inSchema(`'r', 'p'`, ` AND has_table_privilege(c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE')`),
  };
  const columns = Object.entries(privileges).map(([name, sql]) =>
    superuser === 'reported'
      ? `NULL AS ${name}`
      : superuser === 'not reported'
        ? `${sql} AS ${name}`
        : `CASE WHEN NOT s.superuser THEN ${sql} END AS ${name}`,
  );
  const flag = {
    reported: 'true',
    'not reported': 'false',
    unknown: `current_setting('is_superuser') = 'on'`,
  };
  return `
  SELECT version() AS version,
         n.oid IS NOT NULL AS found,
         has_schema_privilege(n.oid, 'USAGE') AS usable,
         s.superuser,
         ${columns.join(',\n         ')},
         ${inSchema(`'r', 'p', 'v', 'm', 'f'`)} AS has_tables
    FROM (SELECT ${flag[superuser]} AS superuser) s
    LEFT JOIN pg_namespace n ON n.nspname = $1`;
}

/** The statement for a login the server said is a superuser, one it said is not, and one it did not say. */
export const CHECK_SESSION = {
  superuser: sessionCheck('reported'),
  role: sessionCheck('not reported'),
  unknown: sessionCheck('unknown'),
} as const;

interface SessionRow {
  version: string;
  found: boolean;
  usable: boolean | null;
  superuser: boolean;
  owner: boolean | null;
  can_create: boolean | null;
  can_write: boolean | null;
  has_tables: boolean;
}

/** The schema check alone: what runs when a server does not take CHECK_SESSION. */
export const SCHEMA_USABLE = `SELECT has_schema_privilege(oid, 'USAGE') AS usable FROM pg_namespace WHERE nspname = $1`;

/**
 * CHECK_SESSION's row, or undefined when the server refuses it (a PostgreSQL look-alike without one
 * of its functions, EXECUTE revoked on one, a table dropped while it was read): then the database
 * and schema stages run their own plain queries, and the login is warned of nothing.
 */
async function checkSession(
  client: pg.Client,
  schema: string,
  superuser: boolean | undefined,
): Promise<SessionRow | undefined> {
  const login = superuser === undefined ? 'unknown' : superuser ? 'superuser' : 'role';
  try {
    return (await client.query<SessionRow>(CHECK_SESSION[login], [schema])).rows[0];
  } catch {
    return undefined;
  }
}

/** ACCOUNT_OVERPRIVILEGED and SCHEMA_EMPTY from CHECK_SESSION's row. */
function warnAccount(ctx: EngineContext, row: SessionRow): void {
  const privilege = row.superuser
    ? 'is a superuser'
    : row.owner
      ? 'owns the database'
      : row.can_create
        ? `may create objects in ${ctx.schema}`
        : row.can_write
          ? `may write to tables of ${ctx.schema}`
          : undefined;
  if (privilege) ctx.warn('ACCOUNT_OVERPRIVILEGED', { privilege });
  if (!row.has_tables) ctx.warn('SCHEMA_EMPTY');
}

export const postgres: EngineAdapter = {
  displayName: 'PostgreSQL',
  defaultSchema: () => 'public',
  warnings: [
    'CERT_EXPIRES_SOON',
    'TLS_VERSION_WEAK',
    'TLS_IDENTITY_UNCHECKED',
    'PASSWORD_AUTH_WEAK',
    'ACCOUNT_OVERPRIVILEGED',
    'SERVER_VERSION_EOL',
    'SCHEMA_EMPTY',
  ],

  async verify(ctx) {
    const { settings, stages, tls } = ctx;
    let stream: Socket = ctx.socket;

    if (tls.use === 'never') {
      stages.skip('tls');
    } else {
      const secure = await stages.run('tls', (signal) => negotiateTls(ctx, signal), {
        skippedWhen: (negotiated) => (negotiated ? undefined : 'TLS_NOT_OFFERED'),
      });
      if (secure) {
        stream = secure;
        ctx.defer(() => secure.destroy());
        ctx.report.tls = describeTls(secure);
      }
    }

    const ready = asConnectedStream(stream);
    const encrypted = stream !== ctx.socket;
    let askedInClear = false;
    const client = new pg.Client({
      user: settings.userName,
      // Called when the server asks for a password (cleartext, MD5 or SCRAM): a cleartext request
      // over a connection without TLS is refused here, so the password never leaves (docs/contract.md §8).
      password: () => {
        if (askedInClear && !encrypted) throw fail({ code: 'AUTH_CLEARTEXT_REFUSED', stage: 'auth' });
        return settings.password;
      },
      database: settings.databaseName,
      // The socket is already open to the checked address and TLS is already done (or declined).
      stream: () => ready,
      ssl: false,
      host: settings.host,
      port: settings.port,
      application_name: 'dbconn-verifier',
    });
    // Late errors (a socket destroyed at cleanup) must not crash the worker.
    client.on('error', () => {});
    // Registered before connect() adds the client's own listeners, so this runs first.
    const { connection } = client as unknown as { connection: NodeJS.EventEmitter };
    connection.on('authenticationCleartextPassword', () => {
      askedInClear = true;
    });
    // The server stores this role's password as MD5 (or pg_hba says md5 for it): PASSWORD_AUTH_WEAK.
    let askedForMd5 = false;
    connection.on('authenticationMD5Password', () => {
      askedForMd5 = true;
    });
    // PostgreSQL reports at login whether the role is a superuser (CHECK_SESSION picks its statement).
    let superuser: boolean | undefined;
    connection.on('parameterStatus', (msg: { parameterName: string; parameterValue: string }) => {
      if (msg.parameterName === 'is_superuser') superuser = msg.parameterValue === 'on';
    });
    // Terminate is written and the socket closed at once: the dial does not wait for the server to
    // close its side, as libpq's PQfinish does not. A backend's exit is a process teardown that says
    // nothing about the connection (10–15 ms on the bench's machine, bench/README.md). On an idle
    // socket Node hands Terminate to the kernel at once, so the server reads it before the end of the
    // stream and counts no abandoned session (postgres.int.test.ts, tls-required.int.test.ts).
    ctx.defer(() => {
      client.end().catch(() => {});
      ready.destroy();
    });

    await stages.run('auth', async (signal) => {
      try {
        await client.connect();
      } catch (error) {
        if (tls.use === 'never' && sqlstateOf(error) === '28000' && (await loginAdmittedOverTls(ctx, signal)))
          throw fail(TLS_REQUIRED_BY_HBA, error);
        throw classify(error, ready);
      }
      if (askedForMd5)
        ctx.warn('PASSWORD_AUTH_WEAK', { method: 'MD5 (md5 in pg_hba.conf or an MD5-stored password)' });
    });

    // One statement answers the database and schema stages and the inspection (CHECK_SESSION); the
    // plain queries run only when the server refuses it.
    const { schema } = ctx;
    let checked: SessionRow | undefined;
    await stages.run('database', async () => {
      checked = await checkSession(client, schema, superuser);
      const version =
        checked?.version ??
        (await query<{ version: string }>(client, ready, 'SELECT version() AS version')).rows[0]?.version;
      if (version) ctx.report.version = version;
    });

    await stages.run('schema', async () => {
      // pg_namespace is readable by every role, so "missing" and "not usable" can be told apart.
      const row = checked
        ? checked.found
          ? checked
          : undefined
        : (await query<{ usable: boolean }>(client, ready, SCHEMA_USABLE, [schema])).rows[0];
      if (!row) throw fail('SCHEMA_NOT_FOUND');
      if (!row.usable) throw fail({ code: 'PERMISSION_DENIED', stage: 'schema' });
      if (checked) warnAccount(ctx, checked);
    });
    sessions.keep(ctx, { client, stream: ready });
  },

  async discover(ctx, schema, options) {
    const { client, stream } = sessions.of(ctx);
    // information_schema lists only what the role has a privilege on, and only this schema:
    // pg_catalog, information_schema and other schemas never appear. Tables (partitioned ones
    // too) and views; not foreign tables (`FOREIGN`) nor materialized views (absent from it).
    const { rows: tables } = await query<{ name: string }>(
      client,
      stream,
      `SELECT table_name AS name FROM information_schema.tables
        WHERE table_schema = $1 AND table_type IN ('BASE TABLE', 'VIEW')`,
      [schema],
    );
    const names = selectTables(
      tables.map((t) => t.name),
      options.log,
    );
    if (names.length === 0) return [];
    const { rows: fields } = await query<{ table: string; field: string }>(
      client,
      stream,
      `SELECT table_name AS "table", column_name AS field FROM information_schema.columns
        WHERE table_schema = $1 AND table_name = ANY($2::text[])`,
      [schema, names],
    );
    return assembleTables(names, fields);
  },
};
