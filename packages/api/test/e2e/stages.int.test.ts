import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../examples/typed-client.js';
import { type Harness, startApi } from '../harness.js';
import { LOCAL_PG } from './helpers.js';
import { startWorkerProcess, type WorkerProcess } from './worker-process.js';

/**
 * Live stages (docs/contract.md §12): the worker publishes each finished stage on the connection's
 * event stream; `connections.watch` with `stages: true` carries them, and without it a watcher sees
 * status changes only, as before.
 */
describe('connections.watch with stages', () => {
  let h: Harness;
  let worker: WorkerProcess | undefined;
  beforeAll(async () => {
    h = await startApi();
  });
  afterAll(async () => {
    await worker?.stop();
    await h?.close();
  });

  it('emits every stage as the worker finishes it, then active; a plain watcher sees statuses only', async () => {
    const api = connect(h.url);
    const created = await api.connections.create.mutate({
      ...LOCAL_PG,
      configName: `stages-${Date.now()}`,
      ssl: { mode: 'disable' },
    });
    type Seen = { status: string; stage?: { name: string; status: string } };
    const streams: Seen[][] = [];
    const collect = (stages: boolean) =>
      new Promise<Seen[]>((resolve, reject) => {
        const seen: Seen[] = [];
        streams.push(seen);
        const subscription = api.connections.watch.subscribe(
          { id: created.id, stages },
          {
            onData: (event) => {
              seen.push({ status: event.status, ...(event.stage ? { stage: event.stage } : {}) });
              if (!event.stage && (event.status === 'active' || event.status === 'failed')) {
                subscription.unsubscribe();
                resolve(seen);
              }
            },
            onError: reject,
            onComplete: () => resolve(seen),
          },
        );
      });
    const live = collect(true);
    const plain = collect(false);
    // Both streams have sent the connection as it is (subscribed before that first read): the
    // worker starts only then, so neither can miss an event.
    await expect.poll(() => streams.length === 2 && streams.every((seen) => seen.length > 0)).toBe(true);
    worker = await startWorkerProcess(h.env);
    const withStages = await live;
    expect(withStages.filter((e) => e.stage).map((e) => `${e.stage?.name}:${e.stage?.status}`)).toEqual([
      'dns:ok',
      'tcp:ok',
      'tls:skipped',
      'auth:ok',
      'database:ok',
      'schema:ok',
    ]);
    expect(withStages.at(-1)?.status).toBe('active');
    const statusesOnly = await plain;
    expect(statusesOnly.every((e) => e.stage === undefined)).toBe(true);
    expect(statusesOnly.map((e) => e.status)).toEqual(['pending', 'verifying', 'active']);
  });

  it('with next, follows a settled connection through a test now, stage by stage, to its new result', async () => {
    const api = connect(h.url);
    const created = await api.connections.create.mutate({
      ...LOCAL_PG,
      configName: `stages-next-${Date.now()}`,
      ssl: { mode: 'disable' },
    });
    await expect
      .poll(async () => (await api.connections.get.query({ id: created.id })).status)
      .toBe('active');
    const seen: { status: string; stage?: string }[] = [];
    const done = new Promise<void>((resolve, reject) => {
      const subscription = api.connections.watch.subscribe(
        { id: created.id, stages: true, next: true },
        {
          onData: (event) => {
            seen.push({ status: event.status, ...(event.stage ? { stage: event.stage.name } : {}) });
            if (seen.length > 1 && !event.stage && event.status === 'active') {
              subscription.unsubscribe();
              resolve();
            }
          },
          onError: reject,
          onComplete: () => resolve(),
        },
      );
    });
    await expect.poll(() => seen.length).toBe(1);
    const result = await api.connections.test.mutate({ id: created.id });
    expect(result.status).toBe('success');
    await done;
    expect(seen.flatMap((e) => (e.stage ? [e.stage] : []))).toEqual([
      'dns',
      'tcp',
      'tls',
      'auth',
      'database',
      'schema',
    ]);
    expect(seen.at(-1)?.status).toBe('active');
  });
});
