import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, http, startApi } from '../harness.js';
import { createConnection, LOCAL_PG, PATH, waitForStatus } from './helpers.js';
import { startWorkerProcess, type WorkerProcess } from './worker-process.js';

/**
 * A connection whose stored secrets no longer open (a master key version removed too early): every
 * door that dials it answers with the coded reason, never a 500, and nothing stays `verifying`.
 */
describe('secrets that do not open, through the API and a real worker', () => {
  let h: Harness;
  let worker: WorkerProcess;
  let id: string;
  let configName: string;
  beforeAll(async () => {
    h = await startApi({ VERIFY_ATTEMPTS: '1' });
    worker = await startWorkerProcess(h.env);
    id = await createConnection(h, LOCAL_PG);
    configName = (await waitForStatus(h, id)).configName;
    await h.damageSecrets(id);
  });
  afterAll(async () => {
    await worker?.stop();
    await h?.close();
  });

  it('POST /{id}/test answers failure with SECRETS_UNREADABLE and records it', async () => {
    const res = await http(h, 'POST', `${PATH}/${id}/test`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      status: 'failure',
      error: { stage: 'auth', code: 'SECRETS_UNREADABLE' },
    });
    const after = (await http(h, 'GET', `${PATH}/${id}`)).body;
    expect(after.status).toBe('failed');
    expect(after.verification.error.code).toBe('SECRETS_UNREADABLE');
  });

  it('GET /{id}/schema answers 502 DATA_SOURCE_DOWN with the reason', async () => {
    const res = await http(h, 'GET', `${PATH}/${id}/schema`);
    expect(res.status).toBe(502);
    expect(res.body).toMatchObject({ code: 'DATA_SOURCE_DOWN' });
    expect(JSON.stringify(res.body)).toContain('SECRETS_UNREADABLE');
  });

  it('validate-schema lists it as DATA_SOURCE_DOWN', async () => {
    const res = await http(h, 'POST', `${PATH}/validate-schema`, {
      body: { mappedFields: { [configName]: { orders: ['id'] } } },
    });
    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual([
      expect.objectContaining({ type: 'DATA_SOURCE_DOWN', dataSourceId: configName }),
    ]);
  });
});
