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
 * What the login may do beyond reading `$1` (superuser, database owner, CREATE on the schema, or
 * INSERT/UPDATE/DELETE/TRUNCATE on one of its tables) and how many tables, views and foreign tables
 * it holds. Catalogs and privilege functions every role can read. At most one row: none when the
 * schema is not there.
 *
 * Written for a backend that has just started, where every catalog page and cache entry touched for
 * the first time costs (1.9 ms of PostgreSQL CPU less per session, median, than a join of pg_roles
 * with two filtered pg_class subqueries on a slow machine, bench/README.md): the superuser flag is the session's
 * `is_superuser` setting rather than the pg_roles view, the owner's name comes from pg_get_userbyid,
 * and pg_class is read once, whole, with the conditions inside the aggregates, so the planner
 * estimates nothing on it.
 */
export const INSPECT_ACCOUNT = `
  SELECT current_setting('is_superuser') = 'on' AS superuser,
         (SELECT pg_get_userbyid(d.datdba) = current_user FROM pg_database d
           WHERE d.datname = current_database()) AS owner,
         has_schema_privilege(n.oid, 'CREATE') AS can_create,
         k.can_write,
         k.tables
    FROM pg_namespace n,
         LATERAL (SELECT coalesce(bool_or(c.relnamespace = n.oid AND c.relkind IN ('r', 'p')
                           AND has_table_privilege(c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE')), false) AS can_write,
                         (count(*) FILTER (WHERE c.relnamespace = n.oid
                           AND c.relkind IN ('r', 'p', 'v', 'm', 'f')))::int AS tables
                    FROM pg_class c) k
   WHERE n.nspname = $1`;

interface AccountRow {
  superuser: boolean;
  owner: boolean | null;
  can_create: boolean;
  can_write: boolean;
  tables: number;
}

/** ACCOUNT_OVERPRIVILEGED and SCHEMA_EMPTY from INSPECT_ACCOUNT; a failing query warns of nothing. */
async function inspectAccount(ctx: EngineContext, client: pg.Client): Promise<void> {
  let row: AccountRow | undefined;
  try {
    row = (await client.query<AccountRow>(INSPECT_ACCOUNT, [ctx.schema])).rows[0];
  } catch {
    return;
  }
  if (!row) return;
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
  if (row.tables === 0) ctx.warn('SCHEMA_EMPTY');
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

    await stages.run('database', async () => {
      const { rows } = await query<{ version: string }>(client, ready, 'SELECT version() AS version');
      const version = rows[0]?.version;
      if (version) ctx.report.version = version;
    });

    const { schema } = ctx;
    await stages.run('schema', async () => {
      // pg_namespace is readable by every role, so "missing" and "not usable" can be told apart.
      const { rows } = await query<{ usable: boolean }>(
        client,
        ready,
        `SELECT has_schema_privilege(oid, 'USAGE') AS usable FROM pg_namespace WHERE nspname = $1`,
        [schema],
      );
      const row = rows[0];
      if (!row) throw fail('SCHEMA_NOT_FOUND');
      if (!row.usable) throw fail({ code: 'PERMISSION_DENIED', stage: 'schema' });
      await inspectAccount(ctx, client);
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
