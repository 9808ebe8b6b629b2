import { getPriority, setPriority } from 'node:os';
import type { Logger } from '@dbconn/shared';

/**
 * Lowers this process's scheduling priority to `nice` (WORKER_NICE), so that on CPUs shared with
 * the API, verifications yield to requests. Only ever raises the niceness: lowering it needs a
 * privilege the worker should not have, and a niceness set by whoever started it is kept.
 */
export function yieldCpu(nice: number, log: Logger): void {
  const current = getPriority();
  if (nice <= current) return;
  try {
    setPriority(nice);
    log.info({ nice, was: current }, 'worker runs at a lower CPU priority than the API (WORKER_NICE)');
  } catch (err) {
    log.warn({ err, nice }, 'could not lower the CPU priority (WORKER_NICE); running as started');
  }
}
