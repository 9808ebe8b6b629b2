import { createHash } from 'node:crypto';
import { AppError, type Config, RETRY_AFTER_SECONDS } from '@dbconn/shared';
import type { FastifyBaseLogger } from 'fastify';
import { type Action, AUTH_RESOURCE } from './operations.js';
import { INVALID_TOKEN_CHALLENGE } from './token-verifier.js';

type AccessManagerSettings = NonNullable<Config['auth']['accessManager']>;

/** Most decisions the cache holds; the oldest go first (a bound, so many tokens cannot grow it without end). */
const CACHE_MAX_ENTRIES = 10_000;
/** An answer longer than this is not an authorization decision: unreadable, fail closed. */
const MAX_ANSWER_BYTES = 64 * 1024;

export interface AuthorizeRequest {
  /** The caller's `Authorization` header, forwarded as it came. */
  authorization: string;
  /** The bearer token alone: the cache key is its hash, never the token. */
  token: string;
  sub: string;
  action: Action;
  /** Seconds since the epoch when the token expires: a cached grant never outlives it. */
  expiresAt?: number | undefined;
  log: FastifyBaseLogger;
}

const unavailable = (reason: string, cause?: unknown) =>
  new AppError('AUTH_UNAVAILABLE', 'The authorization service could not decide; try again shortly', {
    retryAfter: RETRY_AFTER_SECONDS,
    extra: { reason },
    cause,
  });

/**
 * The platform's Access Manager (docs/contract.md §8): `POST <address>/v1/authorize` with the
 * caller's Authorization header and `{sub, resource, action}`. Only a 2xx carrying
 * `"authorized": true` grants; everything it cannot say clearly fails closed with 503.
 */
export class AccessManagerClient {
  private readonly url: string;
  /** sha256(token) + action → decision and when it stops counting (ms). In this process only. */
  private readonly cache = new Map<string, { granted: boolean; until: number }>();

  constructor(private readonly settings: AccessManagerSettings) {
    this.url = `${settings.address.replace(/\/+$/, '')}/v1/authorize`;
  }

  /** Resolves when the call is allowed; throws FORBIDDEN, UNAUTHENTICATED or AUTH_UNAVAILABLE otherwise. */
  async authorize(request: AuthorizeRequest): Promise<void> {
    const key = `${createHash('sha256').update(request.token).digest('hex')}:${request.action}`;
    const cached = this.cache.get(key);
    if (cached && cached.until > Date.now()) return settle(cached.granted, request.action);
    if (cached) this.cache.delete(key);

    const granted = await this.ask(request);
    if (this.settings.cacheTtlSeconds > 0) {
      const until = Math.min(
        Date.now() + this.settings.cacheTtlSeconds * 1000,
        request.expiresAt !== undefined ? request.expiresAt * 1000 : Number.POSITIVE_INFINITY,
      );
      if (this.cache.size >= CACHE_MAX_ENTRIES) {
        const oldest = this.cache.keys().next().value;
        if (oldest !== undefined) this.cache.delete(oldest);
      }
      this.cache.set(key, { granted, until });
    }
    return settle(granted, request.action);
  }

  /** true / false from the Access Manager; throws for its 401 and for anything it did not decide. */
  private async ask({ authorization, sub, action, log }: AuthorizeRequest): Promise<boolean> {
    const signal = AbortSignal.timeout(this.settings.timeoutMs);
    let response: Response;
    let text: string;
    try {
      response = await fetch(this.url, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ sub, resource: AUTH_RESOURCE, action }),
        // A redirect could send the caller's token anywhere: never followed, and not an answer.
        redirect: 'manual',
        signal,
      });
      text = await response.text();
    } catch (cause) {
      const reason = signal.aborted ? 'timeout' : 'unreachable';
      log.warn({ reason, err: cause }, 'access manager did not answer');
      throw unavailable(reason, cause);
    }
    if (response.status === 401) {
      throw new AppError('UNAUTHENTICATED', 'The authorization service does not accept the token', {
        headers: { 'www-authenticate': INVALID_TOKEN_CHALLENGE },
      });
    }
    if (response.status === 403) return false;
    if (response.status < 200 || response.status > 299) {
      const reason =
        response.status >= 300 && response.status < 400 ? 'redirect' : `status ${response.status}`;
      log.warn({ reason, status: response.status }, 'access manager gave no decision');
      throw unavailable(reason);
    }
    const authorized = text.length <= MAX_ANSWER_BYTES ? authorizedField(text) : undefined;
    if (authorized === undefined) {
      log.warn({ reason: 'unreadable answer', status: response.status }, 'access manager gave no decision');
      throw unavailable('unreadable answer');
    }
    return authorized;
  }
}

/** `{"authorized": true|false, ...}` → the boolean; anything else → undefined. */
function authorizedField(text: string): boolean | undefined {
  try {
    const body: unknown = JSON.parse(text);
    if (typeof body !== 'object' || body === null) return undefined;
    const authorized = (body as { authorized?: unknown }).authorized;
    return typeof authorized === 'boolean' ? authorized : undefined;
  } catch {
    return undefined;
  }
}

function settle(granted: boolean, action: Action): void {
  if (!granted) {
    throw new AppError('FORBIDDEN', `The caller may not ${action} connections`);
  }
}
