/**
 * End to end: REST on the real API, the real worker as a child process, real databases.
 *
 * Not shown here: a wrong password against PostgreSQL. The shared instance trusts every local
 * connection, so any password is accepted; the engine tests check AUTH_FAILED against a dedicated
 * instance with password authentication.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import type { Connection } from '@dbconn/shared';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, PG_URL, startApi } from '../harness.js';
import { closedPort, createConnection, silentServer, waitForStatus } from './helpers.js';
import { spawnWorker, startWorkerProcess, type WorkerProcess } from './worker-process.js';

const run = promisify(execFile);
const mariadb = (sql: string) => run('mysql', ['-h', '127.0.0.1', '-P', '3306', '-u', 'root', '-e', sql]);

const postgres = {
  type: 'POSTGRESQL',
  host: '127.0.0.1',
  port: 5432,
  databaseName: 'test',
  userName: 'postgres',
};
const suffix = randomBytes(4).toString('hex');

describe('verification end to end (API + worker process + real servers)', () => {
  let h: Harness;
  let worker: WorkerProcess;
  const admin = new pg.Client({ connectionString: PG_URL });
  const role = `e2e_noperm_${suffix}`;
  const privateSchema = `e2e_private_${suffix}`;
  const mariaUser = `e2e_${suffix}`;
  const mariaPassword = `pw-${suffix}`;
  const missingMariaDb = `e2e_missing_${suffix}`;

  beforeAll(async () => {
    h = await startApi({
      // Two attempts with a short backoff, so transient failures settle within seconds.
      VERIFY_ATTEMPTS: '2',
      VERIFY_BACKOFF_MS: '100',
      VERIFY_STAGE_TIMEOUT_MS: '1500',
      VERIFY_TIMEOUT_MS: '5000',
      LOG_LEVEL: 'info',
    });
    worker = await startWorkerProcess(h.env);

    await admin.connect();
    // A role that may log in but has no right on the schema (a new schema grants nothing to PUBLIC).
    await admin.query(`CREATE ROLE ${role} LOGIN`);
    await admin.query(`CREATE SCHEMA ${privateSchema}`);
    await admin.query(`REVOKE ALL ON SCHEMA ${privateSchema} FROM PUBLIC`);

    await mariadb(
      [
        `CREATE USER '${mariaUser}'@'%' IDENTIFIED BY '${mariaPassword}'`,
        `GRANT SELECT ON test.* TO '${mariaUser}'@'%'`,
        // Rights on a database that does not exist: MariaDB then answers "unknown database"
        // rather than "access denied", as it would to a user allowed to see it.
        `GRANT SELECT ON \`${missingMariaDb}\`.* TO '${mariaUser}'@'%'`,
      ].join('; '),
    );
  });

  afterAll(async () => {
    await worker?.kill();
    await h?.close();
    await admin.query(`DROP SCHEMA IF EXISTS ${privateSchema} CASCADE`).catch(() => {});
    await admin.query(`DROP ROLE IF EXISTS ${role}`).catch(() => {});
    await admin.end().catch(() => {});
    await mariadb(`DROP USER IF EXISTS '${mariaUser}'@'%'`).catch(() => {});
  });

  const expectFailure = (connection: Connection, stage: string, code: string | RegExp) => {
    expect(connection.status).toBe('failed');
    expect(connection.verification?.outcome).toBe('failed');
    expect(connection.verification?.error?.stage).toBe(stage);
    expect(connection.verification?.error?.code).toMatch(code);
    expect(connection.verification?.error?.message).toEqual(expect.any(String));
    expect(connection.verification?.error?.hint).toEqual(expect.any(String));
  };
  const stageStatus = (connection: Connection, name: string) =>
    connection.verification?.stages.find((stage) => stage.name === name)?.status;

  describe('PostgreSQL', () => {
    it('a correct connection becomes active', async () => {
      const id = await createConnection(h, { ...postgres, password: 'any-password-the-instance-trusts' });
      const connection = await waitForStatus(h, id);
      expect(connection.status).toBe('active');
      expect(connection.verification?.outcome).toBe('passed');
      expect(connection.verification?.attempts).toBe(1);
      for (const stage of ['dns', 'tcp', 'auth', 'database', 'schema'])
        expect(stageStatus(connection, stage)).toBe('ok');
      expect(connection.verification?.server?.version).toMatch(/PostgreSQL 15\./);
    });

    it('an unknown database fails at the database stage', async () => {
      const id = await createConnection(h, {
        ...postgres,
        databaseName: `no_such_db_${suffix}`,
        password: 'x',
      });
      expectFailure(await waitForStatus(h, id), 'database', 'DATABASE_NOT_FOUND');
    });

    it('an unknown schema fails at the schema stage', async () => {
      const id = await createConnection(h, {
        ...postgres,
        schema: `no_such_schema_${suffix}`,
        password: 'x',
      });
      expectFailure(await waitForStatus(h, id), 'schema', 'SCHEMA_NOT_FOUND');
    });

    it('a user without rights on the schema fails with PERMISSION_DENIED', async () => {
      const id = await createConnection(h, {
        ...postgres,
        userName: role,
        schema: privateSchema,
        password: 'x',
      });
      expectFailure(await waitForStatus(h, id), 'schema', 'PERMISSION_DENIED');
    });

    it('a closed port fails with TCP_REFUSED after the configured attempts', async () => {
      const id = await createConnection(h, { ...postgres, port: await closedPort(), password: 'x' });
      const connection = await waitForStatus(h, id);
      expectFailure(connection, 'tcp', 'TCP_REFUSED');
      expect(connection.verification?.attempts).toBe(2);
    });

    it('a port that accepts and stays silent fails with a timeout after the configured attempts', async () => {
      const silent = await silentServer();
      try {
        const id = await createConnection(h, { ...postgres, port: silent.port, password: 'x' });
        const connection = await waitForStatus(h, id);
        expect(connection.status).toBe('failed');
        expect(connection.verification?.error?.code).toMatch(/^[A-Z]+_TIMEOUT$/);
        expect(connection.verification?.attempts).toBe(2);
        expect(silent.accepted()).toBeGreaterThanOrEqual(2);
      } finally {
        await silent.stop();
      }
    });

    it('a host name that does not resolve fails with DNS_NOT_FOUND', async () => {
      const id = await createConnection(h, { ...postgres, host: 'nowhere.invalid', password: 'x' });
      const connection = await waitForStatus(h, id);
      expectFailure(connection, 'dns', 'DNS_NOT_FOUND');
      expect(connection.verification?.attempts).toBe(1);
    });

    it('a metadata host name is refused by the egress policy and never dialled', async () => {
      // The address itself (169.254.169.254) is refused at create: egress-input.int.test.ts.
      const id = await createConnection(h, {
        ...postgres,
        host: 'metadata.google.internal',
        port: 80,
        password: 'x',
      });
      const connection = await waitForStatus(h, id);
      expectFailure(connection, 'dns', 'HOST_FORBIDDEN');
      expect(stageStatus(connection, 'tcp')).toBe('skipped');
      expect(connection.verification?.attempts).toBe(1);
    });
  });

  describe('MariaDB', () => {
    const mysql = { type: 'MYSQL', host: '127.0.0.1', port: 3306, databaseName: 'test', userName: mariaUser };

    it('a correct connection becomes active', async () => {
      const id = await createConnection(h, { ...mysql, password: mariaPassword });
      const connection = await waitForStatus(h, id);
      expect(connection.status).toBe('active');
      expect(connection.verification?.outcome).toBe('passed');
      expect(connection.verification?.server?.version).toMatch(/MariaDB/i);
    });

    it('a wrong password fails at the auth stage', async () => {
      const id = await createConnection(h, { ...mysql, password: `${mariaPassword}-wrong` });
      const connection = await waitForStatus(h, id);
      expectFailure(connection, 'auth', 'AUTH_FAILED');
      expect(connection.verification?.attempts).toBe(1);
      expect(JSON.stringify(connection)).not.toContain(mariaPassword);
    });

    it('an unknown database fails at the database stage', async () => {
      const id = await createConnection(h, {
        ...mysql,
        databaseName: missingMariaDb,
        password: mariaPassword,
      });
      expectFailure(await waitForStatus(h, id), 'database', 'DATABASE_NOT_FOUND');
    });
  });

  it('no password reached the worker log', () => {
    const log = worker.output.join('');
    expect(log).toContain('"status":"active"');
    expect(log).not.toContain(mariaPassword);
    expect(log).not.toContain('any-password-the-instance-trusts');
  });

  it('SIGTERM stops the worker cleanly (exit code 0)', async () => {
    expect(await worker.stop()).toBe(0);
  });

  it('the worker refuses to start on a bad variable, naming it', async () => {
    const broken = spawnWorker({ ...h.env, VERIFY_ATTEMPTS: 'three' });
    expect(await broken.exited).toBe(1);
    expect(broken.output.join('')).toContain('VERIFY_ATTEMPTS');
  });

  it('the worker refuses to start on a bad egress rule, naming the variable', async () => {
    const broken = spawnWorker({ ...h.env, EGRESS_DENY: '10.0.0.0/8,not a cidr!!' });
    expect(await broken.exited).toBe(1);
    expect(broken.output.join('')).toContain('EGRESS_DENY');
  });
});
