import { describe, expect, it } from 'vitest';
import { fail, StageFailure } from '../failures/stage-failure.js';
import { StageRunner } from './stage-runner.js';

const limits = { timeoutMs: 10_000, stageTimeoutMs: 5_000 };
const never = () => new Promise<never>(() => {});
const summary = (runner: StageRunner) =>
  runner.stages().map((s) => (s.code ? `${s.name}:${s.status}:${s.code}` : `${s.name}:${s.status}`));

describe('StageRunner', () => {
  it('records each stage it runs as ok, and the stages it never ran as skipped', async () => {
    const runner = new StageRunner(limits);
    expect(await runner.run('dns', async () => 'value')).toBe('value');
    await runner.run('tcp', async () => undefined);
    expect(summary(runner)).toEqual([
      'dns:ok',
      'tcp:ok',
      'tls:skipped',
      'auth:skipped',
      'database:skipped',
      'schema:skipped',
    ]);
    expect(runner.failure).toBeUndefined();
  });

  it('records a failure at the running stage and rethrows it', async () => {
    const runner = new StageRunner(limits);
    await runner.run('dns', async () => undefined);
    await expect(runner.run('tcp', async () => Promise.reject(fail('TCP_REFUSED')))).rejects.toBeInstanceOf(
      StageFailure,
    );
    expect(summary(runner)).toEqual([
      'dns:ok',
      'tcp:failed:TCP_REFUSED',
      'tls:skipped',
      'auth:skipped',
      'database:skipped',
      'schema:skipped',
    ]);
    expect(runner.failure?.stage).toBe('tcp');
  });

  it('splits one driver call over several stages: an unknown database after a good login', async () => {
    const runner = new StageRunner(limits);
    runner.skip('tls');
    await expect(
      runner.run('auth', async () =>
        Promise.reject(fail({ code: 'DATABASE_NOT_FOUND', stage: 'database', priorStages: 'ok' })),
      ),
    ).rejects.toThrow();
    expect(summary(runner).slice(2)).toEqual([
      'tls:skipped',
      'auth:ok',
      'database:failed:DATABASE_NOT_FOUND',
      'schema:skipped',
    ]);
    expect(runner.failure?.stage).toBe('database');
  });

  it('marks the stages the server never reached as skipped (an Oracle listener without the service)', async () => {
    const runner = new StageRunner(limits);
    await expect(
      runner.run('auth', async () =>
        Promise.reject(fail({ code: 'DATABASE_NOT_FOUND', stage: 'database', priorStages: 'skipped' })),
      ),
    ).rejects.toThrow();
    expect(summary(runner).slice(3)).toEqual([
      'auth:skipped',
      'database:failed:DATABASE_NOT_FOUND',
      'schema:skipped',
    ]);
  });

  it('keeps a failure that names an earlier stage at the running one', async () => {
    const runner = new StageRunner(limits);
    await expect(
      runner.run('schema', async () =>
        Promise.reject(fail({ code: 'PERMISSION_DENIED', stage: 'database' })),
      ),
    ).rejects.toThrow();
    expect(summary(runner).at(-1)).toBe('schema:failed:PERMISSION_DENIED');
  });

  it('ends a stage that never settles with its timeout code, and aborts its signal', async () => {
    const runner = new StageRunner({ timeoutMs: 10_000, stageTimeoutMs: 20 });
    let signal: AbortSignal | undefined;
    await expect(
      runner.run('tls', (s) => {
        signal = s;
        return never();
      }),
    ).rejects.toMatchObject({ code: 'TLS_TIMEOUT' });
    expect(signal?.aborted).toBe(true);
    expect(runner.failure).toMatchObject({ stage: 'tls', budgetMs: 20 });
  });

  it('cuts the stage budget to what is left of the whole verification', async () => {
    const runner = new StageRunner({ timeoutMs: 30, stageTimeoutMs: 60_000 });
    await expect(runner.run('auth', never)).rejects.toMatchObject({ code: 'AUTH_TIMEOUT' });
    expect(runner.failure?.budgetMs).toBeLessThanOrEqual(30);
  });

  it('ends with ABORTED when the outer signal fires, before or during a stage', async () => {
    const controller = new AbortController();
    const runner = new StageRunner({ ...limits, signal: controller.signal });
    const pending = runner.run('dns', never);
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: 'ABORTED' });

    const aborted = new AbortController();
    aborted.abort();
    await expect(
      new StageRunner({ ...limits, signal: aborted.signal }).run('dns', async () => 1),
    ).rejects.toMatchObject({
      code: 'ABORTED',
    });
  });

  it('turns an error that is not a classified failure into UNEXPECTED_ERROR, keeping the cause', async () => {
    const runner = new StageRunner(limits);
    const bug = new TypeError('boom');
    await expect(runner.run('database', async () => Promise.reject(bug))).rejects.toMatchObject({
      code: 'UNEXPECTED_ERROR',
      cause: bug,
    });
  });

  it('records a skipped stage with a code (TLS under prefer when the server has none)', async () => {
    const runner = new StageRunner(limits);
    await runner.run('tls', async () => undefined, {
      skippedWhen: (v) => (v ? undefined : 'TLS_NOT_OFFERED'),
    });
    expect(summary(runner)[2]).toBe('tls:skipped:TLS_NOT_OFFERED');
  });

  it('refuses stages out of order or after a failure', async () => {
    const runner = new StageRunner(limits);
    await runner.run('tcp', async () => undefined);
    await expect(runner.run('dns', async () => undefined)).rejects.toThrow(/out of order/);
    await expect(runner.run('tls', async () => Promise.reject(fail('TLS_NOT_OFFERED')))).rejects.toThrow();
    await expect(runner.run('auth', async () => undefined)).rejects.toThrow(/after the verification failed/);
  });

  it('records an error raised between stages against the next stage', async () => {
    const runner = new StageRunner(limits);
    await runner.run('dns', async () => undefined);
    runner.recordUnexpected(new Error('bug'));
    expect(runner.failure).toMatchObject({ stage: 'tcp' });
    expect(summary(runner)[1]).toBe('tcp:failed:UNEXPECTED_ERROR');
  });

  describe('runAfter (a step on the verified connection, after a stage)', () => {
    const passedThroughSchema = async (runner: StageRunner) => {
      for (const stage of ['dns', 'tcp', 'tls', 'auth', 'database', 'schema'] as const) {
        await runner.run(stage, async () => undefined);
      }
    };

    it('returns the value and leaves the stages as verified', async () => {
      const runner = new StageRunner(limits);
      await passedThroughSchema(runner);
      expect(await runner.runAfter('schema', 'DISCOVERY_TIMEOUT', async () => ['t'])).toEqual(['t']);
      expect(runner.failure).toBeUndefined();
      expect(summary(runner).at(-1)).toBe('schema:ok');
    });

    it('reports a failure at its stage, whatever stage the classification names', async () => {
      const runner = new StageRunner(limits);
      await passedThroughSchema(runner);
      await expect(
        runner.runAfter('schema', 'DISCOVERY_TIMEOUT', async () =>
          Promise.reject(fail({ code: 'PERMISSION_DENIED', stage: 'database', priorStages: 'ok' })),
        ),
      ).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
      expect(runner.failure).toMatchObject({ stage: 'schema', failure: { code: 'PERMISSION_DENIED' } });
      expect(summary(runner).slice(3)).toEqual(['auth:ok', 'database:ok', 'schema:ok']);
    });

    it('ends with its own timeout code at the deadline, and aborts its signal', async () => {
      const runner = new StageRunner({ timeoutMs: 10_000, stageTimeoutMs: 20 });
      await passedThroughSchema(runner);
      let signal: AbortSignal | undefined;
      await expect(
        runner.runAfter('schema', 'DISCOVERY_TIMEOUT', (s) => {
          signal = s;
          return never();
        }),
      ).rejects.toMatchObject({ code: 'DISCOVERY_TIMEOUT' });
      expect(signal?.aborted).toBe(true);
      expect(runner.failure).toMatchObject({ stage: 'schema', budgetMs: 20 });
    });

    it('turns an unclassified error into UNEXPECTED_ERROR', async () => {
      const runner = new StageRunner(limits);
      await passedThroughSchema(runner);
      const bug = new TypeError('boom');
      await expect(
        runner.runAfter('schema', 'DISCOVERY_TIMEOUT', async () => Promise.reject(bug)),
      ).rejects.toMatchObject({
        code: 'UNEXPECTED_ERROR',
        cause: bug,
      });
    });

    it('refuses to run unless its stage passed', async () => {
      const runner = new StageRunner(limits);
      await runner.run('dns', async () => undefined);
      await expect(runner.runAfter('schema', 'DISCOVERY_TIMEOUT', async () => 1)).rejects.toThrow(
        /needs schema/,
      );

      const failed = new StageRunner(limits);
      await expect(failed.run('dns', async () => Promise.reject(fail('DNS_NOT_FOUND')))).rejects.toThrow();
      await expect(failed.runAfter('dns', 'DISCOVERY_TIMEOUT', async () => 1)).rejects.toThrow(
        /after the verification failed/,
      );
    });
  });
});
