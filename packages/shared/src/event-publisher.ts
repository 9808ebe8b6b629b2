import { type ConnectionEvent, connectionEventsChannel } from './jobs.js';

/** What the publisher needs of an ioredis client: a pipeline, written to Redis in one go. */
export interface PipelineClient {
  pipeline(): {
    publish(channel: string, message: string): unknown;
    exec(): Promise<[Error | null, unknown][] | null>;
  };
}

export interface ConnectionEventPublisher {
  /** Resolves with the number of subscribers that got it once its write is answered. */
  publish(event: ConnectionEvent): Promise<number>;
  /** Writes whatever is held now (shutdown: before the Redis connection goes). */
  flush(): Promise<void>;
}

/**
 * How long a stage event (and the `verifying` that opens a dial) may wait for company. A watcher
 * sees a stage at most this much later; the settled result never waits.
 */
export const EVENT_HOLD_MS = 20;

interface Held {
  channel: string;
  message: string;
  resolve: (subscribers: number) => void;
  reject: (err: unknown) => void;
}

/**
 * Publishes connection events in the order they are given, several per write to Redis.
 *
 * A verification announces eight events (`verifying`, six stages, the result), and on a machine
 * where a loopback write is a costly system call each PUBLISH of its own was an eighth of the
 * worker's CPU (bench/README.md, P3). Progress events are held up to EVENT_HOLD_MS and go out as
 * one pipeline with whatever else arrived meanwhile; an event that settles a connection (`active`,
 * `failed`, or a deletion) is written on the next tick with everything held before it, so order is
 * kept and nobody waits for the verdict. A lost message only delays watchers (they also poll).
 */
export function createConnectionEventPublisher(
  redis: PipelineClient,
  prefix: string,
  options: { holdMs?: number } = {},
): ConnectionEventPublisher {
  const holdMs = options.holdMs ?? EVENT_HOLD_MS;
  let held: Held[] = [];
  let timer: NodeJS.Timeout | undefined;
  let soon = false;

  const write = async (): Promise<void> => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    soon = false;
    const batch = held;
    held = [];
    if (batch.length === 0) return;
    const pipeline = redis.pipeline();
    for (const { channel, message } of batch) pipeline.publish(channel, message);
    try {
      const replies = (await pipeline.exec()) ?? [];
      batch.forEach((entry, i) => {
        const [err, subscribers] = replies[i] ?? [new Error('no reply to PUBLISH'), 0];
        if (err) entry.reject(err);
        else entry.resolve(Number(subscribers));
      });
    } catch (err) {
      for (const entry of batch) entry.reject(err);
    }
  };

  return {
    publish(event) {
      return new Promise<number>((resolve, reject) => {
        held.push({
          channel: connectionEventsChannel(prefix, event.id),
          message: JSON.stringify(event),
          resolve,
          reject,
        });
        const settles = event.status === 'active' || event.status === 'failed' || event.deleted === true;
        if (settles) {
          // The next tick, not now: events given in the same turn still share the write.
          if (!soon) {
            soon = true;
            process.nextTick(() => void write());
          }
        } else if (!timer && !soon) {
          timer = setTimeout(() => void write(), holdMs);
        }
      });
    },
    flush: write,
  };
}
