import { describe, expect, it } from 'vitest';
import { Batcher, type Outcome } from './batcher.js';

/** A `run` whose batches finish when the test says: what each call got, and a way to finish it. */
function controlledRun() {
  const calls: {
    items: number[];
    finish: (outcomes?: Outcome<string>[]) => void;
    fail: (e: Error) => void;
  }[] = [];
  const run = (items: number[]) =>
    new Promise<Outcome<string>[]>((resolve, reject) => {
      calls.push({
        items,
        finish: (outcomes) => resolve(outcomes ?? items.map((item) => ({ ok: true, value: `done ${item}` }))),
        fail: reject,
      });
    });
  return { calls, run };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('Batcher', () => {
  it('sends a lone item at once, in a batch of its own', async () => {
    const { calls, run } = controlledRun();
    const batcher = new Batcher(run, { maxInFlight: 1, maxBatch: 10 });
    const answer = batcher.submit(1);
    expect(calls.map((call) => call.items)).toEqual([[1]]);
    calls[0]?.finish();
    expect(await answer).toBe('done 1');
  });

  it('holds items while every batch slot is busy and sends them together when one frees', async () => {
    const { calls, run } = controlledRun();
    const batcher = new Batcher(run, { maxInFlight: 2, maxBatch: 10 });
    const answers = [1, 2, 3, 4, 5].map((item) => batcher.submit(item));
    expect(calls.map((call) => call.items)).toEqual([[1], [2]]);
    calls[1]?.finish();
    await tick();
    expect(calls.map((call) => call.items)).toEqual([[1], [2], [3, 4, 5]]);
    calls[0]?.finish();
    calls[2]?.finish();
    expect(await Promise.all(answers)).toEqual(['done 1', 'done 2', 'done 3', 'done 4', 'done 5']);
    // Nothing left waiting: the next item goes at once again.
    const later = batcher.submit(6);
    expect(calls.at(-1)?.items).toEqual([6]);
    calls.at(-1)?.finish();
    expect(await later).toBe('done 6');
  });

  it('puts at most maxBatch items in one batch', async () => {
    const { calls, run } = controlledRun();
    const batcher = new Batcher(run, { maxInFlight: 1, maxBatch: 2 });
    const answers = [1, 2, 3, 4, 5].map((item) => batcher.submit(item));
    for (let i = 0; i < 3; i++) {
      calls[i]?.finish();
      await tick();
    }
    expect(calls.map((call) => call.items)).toEqual([[1], [2, 3], [4, 5]]);
    expect(await Promise.all(answers)).toHaveLength(5);
  });

  it("gives each item of a batch its own outcome, and a batch's failure to each of its items only", async () => {
    const { calls, run } = controlledRun();
    const batcher = new Batcher(run, { maxInFlight: 1, maxBatch: 10 });
    const first = batcher.submit(1);
    const answers = [2, 3, 4].map((item) => batcher.submit(item));
    calls[0]?.fail(new Error('store down'));
    await expect(first).rejects.toThrow('store down');
    await tick();
    calls[1]?.finish([
      { ok: true, value: 'two' },
      { ok: false, error: new Error('name taken') },
      { ok: true, value: 'four' },
    ]);
    const settled = await Promise.allSettled(answers);
    expect(settled.map((s) => (s.status === 'fulfilled' ? s.value : (s.reason as Error).message))).toEqual([
      'two',
      'name taken',
      'four',
    ]);
  });

  it('rejects an item the batch answered no outcome for, instead of leaving it waiting', async () => {
    const batcher = new Batcher<number, string>(async () => [{ ok: true, value: 'only one' }], {
      maxInFlight: 1,
      maxBatch: 10,
    });
    const lone = batcher.submit(0);
    const answers = [1, 2].map((item) => batcher.submit(item));
    expect(await lone).toBe('only one');
    const settled = await Promise.allSettled(answers);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected']);
  });
});
