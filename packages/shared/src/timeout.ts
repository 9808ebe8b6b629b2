/**
 * Rejects when `promise` does not settle within `ms`. Probes and scrapes must answer even when a
 * dependency hangs: BullMQ, for one, waits for a Redis that is down instead of failing. The timer
 * never keeps the process alive. The abandoned promise settles (or not) on its own.
 */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    timer.unref();
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
