// What the worker's extra query on the target costs PostgreSQL: a session as the bare loop makes it
// (connect, version, schema), the same plus the worker's INSPECT_ACCOUNT (the warnings
// ACCOUNT_OVERPRIVILEGED and SCHEMA_EMPTY, packages/worker/src/engines/postgres.ts), and the same
// plus a trivial query; PostgreSQL CPU per session from /proc (every postgres process, ended
// backends included). Sequential, alternated, two rounds.
//
//   pnpm --filter @dbconn/worker exec tsx --conditions=@dbconn/source ../../bench/target-session-cost.ts
import pg from 'pg';
import { INSPECT_ACCOUNT } from '../packages/worker/src/engines/postgres.js';
import { commCpuMs } from './src/procs.js';

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
  ['+inspect', (c) => c.query(INSPECT_ACCOUNT, ['public'])],
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
