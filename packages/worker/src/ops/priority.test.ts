import { execFileSync } from 'node:child_process';
import { getPriority } from 'node:os';
import { describe, expect, it } from 'vitest';

/** Runs yieldCpu in a process of its own (a niceness, once raised, may not come down again). */
function nicenessAfter(calls: number[]): number {
  const script = `
    import { getPriority } from 'node:os';
    const { yieldCpu } = await import('./src/ops/priority.ts');
    const log = { info() {}, warn() {} };
    for (const nice of ${JSON.stringify(calls)}) yieldCpu(nice, log);
    process.stdout.write(String(getPriority()));
  `;
  return Number(
    execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: new URL('../..', import.meta.url),
      encoding: 'utf8',
    }),
  );
}

describe('yieldCpu (WORKER_NICE)', () => {
  it('lowers the priority of the worker process to the given niceness', () => {
    // As started by a process that may itself run at a niceness above 0 (a child inherits it).
    expect(nicenessAfter([7])).toBe(Math.max(7, getPriority()));
  });

  it('never raises it back: a lower WORKER_NICE than the niceness it runs at changes nothing', () => {
    expect(nicenessAfter([9, 3])).toBe(Math.max(9, getPriority()));
  });

  it('0 keeps the priority it was started with', () => {
    expect(nicenessAfter([0])).toBe(getPriority());
  });
});
