import type { EngineContext } from './types.js';

/**
 * What an engine's `verify` leaves for its `discover` on the same dial: the logged-in client (and
 * what the schema stage resolved), keyed by the dial's context. Discovery therefore reuses the
 * verified connection instead of dialling again, and the client is still closed by the dial's
 * releases. Weak keys: nothing outlives the dial.
 */
export class DialSessions<Session> {
  private readonly sessions = new WeakMap<EngineContext, Session>();

  keep(ctx: EngineContext, session: Session): void {
    this.sessions.set(ctx, session);
  }

  /** The session of a dial whose `verify` passed; calling `discover` without one is a bug. */
  of(ctx: EngineContext): Session {
    const session = this.sessions.get(ctx);
    if (session === undefined) throw new Error('discover() needs the context of a verified dial');
    return session;
  }
}
