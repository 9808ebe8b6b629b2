import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import pg from 'pg';
import { fail } from '../failures/stage-failure.js';
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

function classify(error: unknown, stream: Socket) {
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

export const postgres: EngineAdapter = {
  displayName: 'PostgreSQL',
  defaultSchema: () => 'public',

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
    const client = new pg.Client({
      user: settings.userName,
      password: settings.password,
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
    ctx.defer(async () => {
      await Promise.race([client.end().catch(() => {}), new Promise((r) => setTimeout(r, 200).unref())]);
      ready.destroy();
    });

    await stages.run('auth', async () => {
      try {
        await client.connect();
      } catch (error) {
        throw classify(error, ready);
      }
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
