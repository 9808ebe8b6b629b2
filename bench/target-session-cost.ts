// What the worker's extra query on the target costs PostgreSQL: a session as the bare loop makes it
// (connect, version, schema), the same plus the worker's INSPECT_ACCOUNT (the warnings
// ACCOUNT_OVERPRIVILEGED and SCHEMA_EMPTY, packages/worker/src/engines/postgres.ts), and the same
// plus a trivial query; PostgreSQL CPU per session from /proc (every postgres process, ended
// backends included). Sequential, alternated, two rounds.
//
//   cd bench && npx tsx target-session-cost.ts
import pg from 'pg';
import { commCpuMs } from './src/procs.js';

const INSPECT = `
  SELECT r.rolsuper AS superuser,
         (SELECT d.datdba = r.oid FROM pg_database d WHERE d.datname = current_database()) AS owner,
         has_schema_privilege(n.oid, 'CREATE') AS can_create,
         EXISTS (SELECT 1 FROM pg_class c WHERE c.relnamespace = n.oid AND c.relkind IN ('r', 'p')
                   AND has_table_privilege(c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE')) AS can_write,
         (SELECT count(*) FROM pg_class c WHERE c.relnamespace = n.oid
                   AND c.relkind IN ('r', 'p', 'v', 'm', 'f'))::int AS tables
    FROM pg_roles r, pg_namespace n
   WHERE r.rolname = current_user AND n.nspname = $1`;
const N = 300;
async function session(extra: (c: pg.Client) => Promise<unknown>) {
  const c = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/test' });
  await c.connect();
  await c.query('SELECT version()');
  await c.query(`SELECT has_schema_privilege(oid, 'USAGE') AS usable FROM pg_namespace WHERE nspname = $1`, [
    'public',
  ]);
  await extra(c);
  await c.end();
}
const variants: [string, (c: pg.Client) => Promise<unknown>][] = [
  ['bare', async () => {}],
  ['+inspect', (c) => c.query(INSPECT, ['public'])],
  ['+select 1', (c) => c.query('SELECT 1')],
];
for (let round = 0; round < 2; round++)
  for (const [name, fn] of variants) {
    for (let i = 0; i < 20; i++) await session(fn);
    const c0 = commCpuMs('postgres');
    const t0 = performance.now();
    for (let i = 0; i < N; i++) await session(fn);
    console.log(
      name,
      'pg ms/session',
      ((commCpuMs('postgres') - c0) / N).toFixed(2),
      'wall',
      ((performance.now() - t0) / N).toFixed(2),
    );
  }
