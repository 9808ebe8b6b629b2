import {
  type CleartextTrap,
  startCleartextMysql,
  startCleartextPostgres,
} from '@dbconn/worker/test-fixtures';
import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../examples/typed-client.js';
import { type Harness, http, startApi } from '../harness.js';
import { createConnection, PATH, waitForStatus } from './helpers.js';
import { startWorkerProcess, type WorkerProcess } from './worker-process.js';

/**
 * Issue 10, the redirection proof: a fake PostgreSQL and a fake MySQL on loopback (real TCP, every
 * byte recorded) ask for the password in clear text. By every path that could point a stored
 * connection at them — PATCH of host/port/type with ssl null, try-before-save with an id, the tRPC
 * equivalents, and a fresh create — the canary password never arrives.
 */

const CANARY = 'Canary-Redirect-41d7e2c9';
const forms = (secret: string) => [
  secret,
  Buffer.from(secret).toString('hex'),
  Buffer.from(secret).toString('base64'),
];

/** The field names a tRPC call was refused with (BAD_REQUEST), or a failure if it was not refused. */
async function trpcRefusal(call: Promise<unknown>): Promise<{ code: string; fields: string[] }> {
  try {
    await call;
  } catch (err) {
    if (!(err instanceof TRPCClientError)) throw err;
    const errors = (err.data?.errors ?? []) as { field: string }[];
    return { code: err.data?.code, fields: errors.map((e) => e.field) };
  }
  throw new Error('expected the call to be refused');
}

describe('a stored password never reaches a server it was not given for', () => {
  let h: Harness;
  let worker: WorkerProcess;
  let api: ReturnType<typeof connect>;
  let pgTrap: CleartextTrap;
  let mysqlTrap: CleartextTrap;
  /** Stored with the canary, at a name that never resolves (so it is never dialled itself). */
  let stored: string;

  beforeAll(async () => {
    h = await startApi({ VERIFY_ATTEMPTS: '1', RATE_LIMIT_PER_CONNECTION: '100' });
    worker = await startWorkerProcess(h.env);
    api = connect(h.url);
    pgTrap = await startCleartextPostgres();
    mysqlTrap = await startCleartextMysql();
    stored = await createConnection(h, {
      type: 'POSTGRESQL',
      host: 'stored-db.invalid',
      port: pgTrap.port,
      databaseName: 'orders',
      userName: 'victim',
      password: CANARY,
      ssl: { mode: 'require' },
    });
    await waitForStatus(h, stored);
  });
  afterAll(async () => {
    await worker?.stop();
    await pgTrap?.stop();
    await mysqlTrap?.stop();
    await h?.close();
  });

  // Functions: the traps' ports are known only once beforeAll has run.
  it.each<[string, () => Record<string, unknown>]>([
    ['host, with ssl null', () => ({ host: '127.0.0.1', ssl: null })],
    ['host and port', () => ({ host: '127.0.0.1', port: pgTrap.port })],
    [
      'type, host and port (to the MySQL trap)',
      () => ({ type: 'MYSQL', host: '127.0.0.1', port: mysqlTrap.port }),
    ],
    ['ssl lowered', () => ({ ssl: { mode: 'disable' } })],
  ])(
    'REST: PATCH and POST /test with the id that change %s without the password answer 400 naming password',
    async (_, changeOf) => {
      const change = changeOf();
      const before = (await http(h, 'GET', `${PATH}/${stored}`)).body;
      const patch = await http(h, 'PATCH', `${PATH}/${stored}`, { body: change });
      expect(patch.status).toBe(400);
      expect(patch.body).toMatchObject({ code: 'VALIDATION_FAILED' });
      expect(patch.body.errors).toEqual([
        {
          field: 'password',
          message: expect.stringMatching(/stored credentials would be sent.*password again/),
        },
      ]);
      // Nothing was written.
      expect((await http(h, 'GET', `${PATH}/${stored}`)).body).toEqual(before);

      const trial = await http(h, 'POST', `${PATH}/test`, { body: { id: stored, ...change } });
      expect(trial.status).toBe(400);
      expect(trial.body.errors.map((e: { field: string }) => e.field)).toEqual(['password']);
    },
  );

  it('tRPC: update and testSettings refuse the same changes', async () => {
    for (const change of [
      { host: '127.0.0.1', port: pgTrap.port, ssl: null },
      { type: 'MYSQL' as const, host: '127.0.0.1', port: mysqlTrap.port },
    ]) {
      expect(await trpcRefusal(api.connections.update.mutate({ id: stored, ...change }))).toEqual({
        code: 'VALIDATION_FAILED',
        fields: ['password'],
      });
      expect(await trpcRefusal(api.connections.testSettings.mutate({ id: stored, ...change }))).toEqual({
        code: 'VALIDATION_FAILED',
        fields: ['password'],
      });
    }
  });

  it('given again, the password goes only as far as the cleartext request, which is refused', async () => {
    // Try before save (both doors), then save: each dial reaches a trap and stops at its request.
    const rest = await http(h, 'POST', `${PATH}/test`, {
      body: { id: stored, host: '127.0.0.1', port: pgTrap.port, ssl: null, password: CANARY },
    });
    expect(rest.status).toBe(200);
    expect(rest.body).toMatchObject({
      status: 'failure',
      error: { stage: 'auth', code: 'AUTH_CLEARTEXT_REFUSED' },
    });
    const trpc = await api.connections.testSettings.mutate({
      id: stored,
      type: 'MYSQL',
      host: '127.0.0.1',
      port: mysqlTrap.port,
      ssl: null,
      password: CANARY,
    });
    expect(trpc).toMatchObject({
      status: 'failure',
      error: { stage: 'auth', code: 'AUTH_CLEARTEXT_REFUSED' },
    });

    const patched = await http(h, 'PATCH', `${PATH}/${stored}`, {
      body: { host: '127.0.0.1', ssl: null, password: CANARY },
    });
    expect(patched.status).toBe(200);
    const after = await waitForStatus(h, stored);
    expect(after.verification?.error).toMatchObject({ stage: 'auth', code: 'AUTH_CLEARTEXT_REFUSED' });
  });

  it('a fresh create pointing at a trap, through either door, never sends the password', async () => {
    const viaRest = await createConnection(h, {
      type: 'MYSQL',
      host: '127.0.0.1',
      port: mysqlTrap.port,
      databaseName: 'orders',
      userName: 'victim',
      password: CANARY,
    });
    const viaTrpc = await api.connections.create.mutate({
      configName: 'redirect-fresh-trpc',
      type: 'POSTGRESQL',
      host: '127.0.0.1',
      port: pgTrap.port,
      databaseName: 'orders',
      userName: 'victim',
      password: CANARY,
      ssl: { mode: 'prefer' },
    });
    for (const id of [viaRest, viaTrpc.id]) {
      const settled = await waitForStatus(h, id);
      expect(settled.verification?.error).toMatchObject({ stage: 'auth', code: 'AUTH_CLEARTEXT_REFUSED' });
    }
  });

  it('afterwards: both traps were dialled, and neither ever received the canary in any form', () => {
    for (const trap of [pgTrap, mysqlTrap]) {
      const received = trap.received().toString('latin1');
      // The logins arrived (the user name is in them): the traps were reached, so this can fail.
      expect(received).toContain('victim');
      for (const form of forms(CANARY)) expect(received).not.toContain(form);
    }
  });
});
