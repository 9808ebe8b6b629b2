// What mssql's double login costs per SQL Server verification. mssql's ConnectionPool.connect()
// logs in with a test connection and closes it; the first query then logs in again through the
// pool. Measured against the scripted TDS peer of the worker's tests (real TDS, real sockets, on
// 127.0.0.1), with and without TLS inside PRELOGIN:
//   - `adapter`: the worker's verification (dns, tcp, tls, auth, database, schema) through mssql;
//   - `one login`: tedious alone, one Connection (PRELOGIN, TLS, LOGIN7) and the same two queries;
//   - `login only`: one tedious Connection that logs in and closes — the price of the extra login.
// A real server adds its own login work (password hashing, session set-up) to each login, and the
// network round trips; this isolates the client-side and protocol cost. Sequential, bounded.
//
//   pnpm --filter @dbconn/worker exec tsx --conditions=@dbconn/source ../../bench/mssql-logins.ts [runs]
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import type * as Tedious from 'tedious';
import type { DialSettings } from '../packages/worker/src/engines/types.js';
import { verifyConnection } from '../packages/worker/src/verify/verify-connection.js';
import { makeCa } from '../packages/worker/test/fixtures/certs.js';
import { ENCRYPT, startFakeTds, type TdsReply } from '../packages/worker/test/fixtures/tds.js';

// tedious is the worker's (mssql's driver); pnpm does not hoist it to the repository root.
const tedious = createRequire(new URL('../packages/worker/package.json', import.meta.url))(
  'tedious',
) as typeof Tedious;

const runs = Number(process.argv[2] ?? 200);
const options = {
  timeoutMs: 10_000,
  stageTimeoutMs: 5_000,
  egress: { mode: 'default' as const, allow: [], deny: [] },
};
const answer = (text: string): TdsReply =>
  text.includes('@@VERSION')
    ? { columns: [{ name: 'version', type: 'nvarchar' }], rows: [['bench']] }
    : { columns: [{ name: 'canSelect', type: 'int' }], rows: [[1]] };

function tediousLogin(port: number, encrypt: boolean, queries: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const connection = new tedious.Connection({
      server: '127.0.0.1',
      authentication: { type: 'default', options: { userName: 'sa', password: 'bench' } },
      options: {
        port,
        encrypt,
        trustServerCertificate: true,
        serverName: 'localhost',
        maxRetriesOnTransientErrors: 0,
      },
    });
    connection.on('error', () => {});
    const next = (remaining: string[]) => {
      const [text, ...rest] = remaining;
      if (text === undefined) {
        connection.close();
        resolve();
        return;
      }
      const request = new tedious.Request(text, (error) => (error ? reject(error) : next(rest)));
      request.addParameter('schema', tedious.TYPES.NVarChar, 'dbo');
      connection.execSql(request);
    };
    connection.connect((error) => (error ? reject(error) : next(queries)));
  });
}

async function measure(name: string, once: () => Promise<unknown>) {
  await once(); // warm up: load the drivers
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await once();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const pct = (p: number) => times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))];
  console.log(`${name}: ${runs} runs  p50 ${pct(50)?.toFixed(2)} ms  p95 ${pct(95)?.toFixed(2)} ms`);
  return pct(50) ?? 0;
}

const authority = await makeCa('bench TDS CA');
const certificate = await authority.issue({ commonName: 'localhost', altNames: ['IP:127.0.0.1'] });
const queries = ['SELECT @@VERSION AS version', 'SELECT 1 AS canSelect WHERE @schema IS NOT NULL'];
for (const withTls of [false, true]) {
  const server = await startFakeTds({
    encryption: withTls ? ENCRYPT.ON : ENCRYPT.NOT_SUP,
    ...(withTls ? { tls: { cert: certificate.cert, key: certificate.key } } : {}),
    answer,
  });
  const settings: DialSettings = {
    type: 'SQL_SERVER',
    host: '127.0.0.1',
    port: server.port,
    databaseName: 'master',
    userName: 'sa',
    password: 'bench',
    metadata: {},
    ssl: { mode: withTls ? 'require' : 'disable' },
  };
  const label = withTls ? 'TLS' : 'no TLS';
  const adapter = await measure(`adapter (mssql, 2 logins), ${label}`, async () => {
    const result = await verifyConnection(settings, options);
    if (result.outcome !== 'passed') throw new Error(JSON.stringify(result.error));
  });
  const single = await measure(`one login + 2 queries (tedious), ${label}`, () =>
    tediousLogin(server.port, withTls, queries),
  );
  const login = await measure(`login only (tedious), ${label}`, () => tediousLogin(server.port, withTls, []));
  console.log(
    `  ${label}: adapter - one login = ${(adapter - single).toFixed(2)} ms at p50; one extra login ≈ ${login.toFixed(2)} ms`,
  );
  await server.stop();
}
await authority.remove();
