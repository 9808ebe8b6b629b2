import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LiveStages } from './live-stages.js';
import { Output } from './output.js';

/** A stream that says it is a terminal, and everything written to it. */
function terminal(isTTY: boolean) {
  const stream = new PassThrough() as PassThrough & { isTTY?: boolean };
  stream.isTTY = isTTY;
  let written = '';
  stream.on('data', (chunk: Buffer) => {
    written += chunk.toString();
  });
  return { stream: stream as unknown as NodeJS.WriteStream, written: () => written };
}

describe('LiveStages', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('spins on the stage running now: the first at the start, the next after each finished one', () => {
    const out = terminal(true);
    const live = new LiveStages(new Output(out.stream, out.stream, { noColor: true }));
    live.begin();
    vi.advanceTimersByTime(100);
    expect(out.written()).toMatch(/\r\S dns$/);
    live.stage({ name: 'dns', status: 'ok', durationMs: 3 });
    vi.advanceTimersByTime(100);
    expect(out.written()).toMatch(/✓ dns 3 ms\n\r\S tcp$/);
    live.stage({ name: 'tcp', status: 'ok', durationMs: 1 });
    live.stage({ name: 'tls', status: 'skipped', durationMs: 0 });
    vi.advanceTimersByTime(100);
    expect(out.written()).toMatch(/- tls skipped\n\r\S auth$/);
    live.stage({ name: 'auth', status: 'failed', durationMs: 7, code: 'AUTH_FAILED' });
    const afterFailure = out.written();
    vi.advanceTimersByTime(1_000);
    // Nothing runs after a failed stage: no spinner.
    expect(out.written()).toBe(afterFailure);
    expect(afterFailure).toMatch(/✗ auth AUTH_FAILED\n$/);
  });

  it('prints each stage once: what the stream showed is not repeated from the outcome', () => {
    const out = terminal(false);
    const live = new LiveStages(new Output(out.stream, out.stream, { noColor: true }));
    live.begin();
    live.stage({ name: 'dns', status: 'ok', durationMs: 3 });
    live.stage({ name: 'dns', status: 'ok', durationMs: 3 });
    live.finish({
      stages: [
        { name: 'dns', status: 'ok', durationMs: 3 },
        { name: 'tcp', status: 'failed', durationMs: 9, code: 'TCP_REFUSED' },
      ],
      error: { code: 'TCP_REFUSED', message: 'nothing listens', hint: 'check the port' },
    });
    // Not a terminal: no spinner frames at all.
    expect(out.written()).toBe('✓ dns 3 ms\n✗ tcp TCP_REFUSED\n  nothing listens\n  check the port\n');
  });
});
