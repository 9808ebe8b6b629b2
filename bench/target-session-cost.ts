// What the worker's session on the target costs PostgreSQL beyond the bare loop's: a session as the
// bare loop makes it (connect, version, schema check), the worker's (connect, CHECK_SESSION: the
// version, the schema check and the inspection behind ACCOUNT_OVERPRIVILEGED and SCHEMA_EMPTY in
// one statement, packages/worker/src/engines/postgres.ts), the worker's until 2026-12-06 (three
// statements), and the bare one plus a trivial query (what a round trip costs); PostgreSQL CPU per session from /proc (every postgres process, ended backends
// included), and the median time of the statements after the login (no fork in it, so steadier).
// Sequential; the variants take turns every N sessions, R turns each, so the machine's
// drift falls on all of them.
//
//   pnpm --filter @dbconn/worker exec tsx --conditions=@dbconn/source ../../bench/target-session-cost.ts
//   (N sessions per turn, R turns; TARGET_URL and TARGET_SCHEMA choose the login and schema)
import pg from 'pg';
import { CHECK_SESSION, SCHEMA_USABLE } from '../packages/worker/src/engines/postgres.js';
import { commCpuMs } from './src/procs.js';

const N = Number(process.env.N ?? 30);
const R = Number(process.env.R ?? 12);
const TARGET_URL = process.env.TARGET_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = process.env.TARGET_SCHEMA ?? 'public';
/** The worker's inspection until 2026-12-06: a statement of its own after the schema check. */
const INSPECT_BEFORE = `
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

/** One session; returns how long its statements took after the login (no fork in it). */
async function session(...statements: string[]): Promise<number> {
  const c = new pg.Client({ connectionString: TARGET_URL });
  await c.connect();
  const t0 = performance.now();
  for (const text of statements) await c.query(text, text.includes('$1') ? [SCHEMA] : []);
  const took = performance.now() - t0;
  await c.end();
  return took;
}
const VERSION = 'SELECT version()';
// The worker picks its statement by what the server reports at login; so does this.
const probe = new pg.Client({ connectionString: TARGET_URL });
await probe.connect();
const { rows } = await probe.query(`SELECT current_setting('is_superuser') = 'on' AS superuser`);
await probe.end();
const LOGIN = rows[0]?.superuser ? 'superuser' : 'role';
console.log(`login: ${LOGIN}, schema ${SCHEMA}`);
const variants: [string, string[]][] = [
  // (the bare loop's session, as bench/bare/verify.mjs makes it)
  ['bare (version, schema check)', [VERSION, SCHEMA_USABLE]],
  [`worker (CHECK_SESSION.${LOGIN})`, [CHECK_SESSION[LOGIN]]],
  ['worker before (version, check, inspection)', [VERSION, SCHEMA_USABLE, INSPECT_BEFORE]],
  ['bare + SELECT 1 (a round trip)', [VERSION, SCHEMA_USABLE, 'SELECT 1']],
];
const spent = new Map(variants.map(([name]) => [name, 0]));
const statementMs = new Map(variants.map(([name]) => [name, [] as number[]]));
for (const [, statements] of variants) for (let i = 0; i < 10; i++) await session(...statements);
for (let turn = 0; turn < R; turn++)
  for (const [name, statements] of turn % 2 ? [...variants].reverse() : variants) {
    const c0 = commCpuMs('postgres');
    for (let i = 0; i < N; i++) statementMs.get(name)?.push(await session(...statements));
    spent.set(name, (spent.get(name) ?? 0) + commCpuMs('postgres') - c0);
  }
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const bare = (spent.get(variants[0][0]) ?? 0) / (N * R);
const bareStatements = median(statementMs.get(variants[0][0]) ?? []);
for (const [name, ms] of spent) {
  const perSession = ms / (N * R);
  const statements = median(statementMs.get(name) ?? []);
  console.log(
    `${name.padEnd(44)} ${perSession.toFixed(2)} ms of PostgreSQL CPU per session (${(perSession - bare).toFixed(2)} over bare);`,
    `its statements after the login ${statements.toFixed(2)} ms median (${(statements - bareStatements).toFixed(2)} over bare)`,
  );
}
