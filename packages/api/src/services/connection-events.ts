import {
  type ConnectionEvent,
  ConnectionEventSchema,
  connectionEventsChannel,
  type Redis,
  type TrialEvent,
  TrialEventSchema,
  trialEventsChannel,
} from '@dbconn/shared';
import type { z } from 'zod';

type Listener = (message: unknown) => void;

/**
 * Status changes of connections over Redis pub/sub, published by the worker (verifying, active,
 * failed) and by this API (back to pending after an update); and the stages of live trials (try
 * before save), published by the worker. One subscriber connection per process, dispatched by
 * channel to the watchers of that connection or trial.
 */
export class ConnectionEvents {
  private readonly listeners = new Map<string, Set<Listener>>();

  constructor(
    private readonly subscriber: Redis,
    private readonly prefix: string,
  ) {
    subscriber.on('message', (channel: string, message: string) => {
      const set = this.listeners.get(channel);
      if (!set) return;
      const parsed = safeJson(message);
      for (const listener of set) listener(parsed);
    });
  }

  /** Calls `listener` on every status change of the connection until the returned function is called. */
  subscribe(connectionId: string, listener: (event: ConnectionEvent) => void): Promise<() => Promise<void>> {
    return this.listen(connectionEventsChannel(this.prefix, connectionId), ConnectionEventSchema, listener);
  }

  /** Calls `listener` on every stage the worker finishes for the trial until the returned function is called. */
  subscribeTrial(requestId: string, listener: (event: TrialEvent) => void): Promise<() => Promise<void>> {
    return this.listen(trialEventsChannel(this.prefix, requestId), TrialEventSchema, listener);
  }

  /** Messages that do not match the schema are dropped. */
  private async listen<T>(
    channel: string,
    schema: z.ZodType<T>,
    onEvent: (event: T) => void,
  ): Promise<() => Promise<void>> {
    const listener: Listener = (message) => {
      const parsed = schema.safeParse(message);
      if (parsed.success) onEvent(parsed.data);
    };
    let set = this.listeners.get(channel);
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
      await this.subscriber.subscribe(channel);
    }
    set.add(listener);
    const listeners = set;
    return async () => {
      listeners.delete(listener);
      if (listeners.size === 0 && this.listeners.get(channel) === listeners) {
        this.listeners.delete(channel);
        await this.subscriber.unsubscribe(channel).catch(() => undefined);
      }
    };
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
