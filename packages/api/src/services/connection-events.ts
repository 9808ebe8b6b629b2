import {
  type ConnectionEvent,
  ConnectionEventSchema,
  connectionEventsChannel,
  type Redis,
} from '@dbconn/shared';

type Listener = (event: ConnectionEvent) => void;

/**
 * Status changes of connections over Redis pub/sub, published by the worker (verifying, active,
 * failed) and by this API (back to pending after an update). One subscriber connection per
 * process, dispatched by channel to the watchers of that connection.
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
      const parsed = ConnectionEventSchema.safeParse(safeJson(message));
      if (!parsed.success) return;
      for (const listener of set) listener(parsed.data);
    });
  }

  /** Calls `listener` on every status change of the connection until the returned function is called. */
  async subscribe(connectionId: string, listener: Listener): Promise<() => Promise<void>> {
    const channel = connectionEventsChannel(this.prefix, connectionId);
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
