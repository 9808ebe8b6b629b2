import { createHash, createHmac, hkdfSync } from 'node:crypto';
import {
  AppError,
  type Connection,
  currentKeyVersion,
  type Keyring,
  RETRY_AFTER_SECONDS,
  type Redis,
} from '@dbconn/shared';

/** How long a key answers with the result of its first create (docs/contract.md §2). */
export const IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60;
/** Retry-After of IDEMPOTENCY_KEY_IN_PROGRESS: the first create ends within a few store calls. */
const IN_PROGRESS_RETRY_AFTER_SECONDS = 1;
const HKDF_SALT = Buffer.from('dbconn/idempotency');

/**
 * What a key holds. `fingerprint` is an HMAC of the canonical create body under a key derived from
 * the master key (`v<key version>.<hex>`): a plain hash of a body with a guessable password could be
 * brute-forced from a Redis dump; this reveals nothing without the master key.
 */
type Entry =
  | { state: 'in-flight'; fingerprint: string; connectionId: string }
  | { state: 'done'; fingerprint: string; connectionId: string; response: Connection };

export type Claim =
  /** The key is ours: create the connection under this id. */
  | { kind: 'claimed'; connectionId: string }
  /** A create with this key and body already answered: answer the same. */
  | { kind: 'done'; response: Connection }
  /** A create with this key and body is running, or stopped before it recorded its answer. */
  | { kind: 'in-flight'; connectionId: string };

/**
 * Stores the first answer of a create per organization and Idempotency-Key in Redis for 24 h. The key
 * is claimed before the create, with the id the connection will get, for `leaseMs` (longer than a
 * create takes with every store call at its deadline): a process killed mid-create leaves that id
 * behind, so a retry finds the connection if it was stored, and creates it otherwise once the lease
 * is over; it can never make a second connection for one key.
 */
export class IdempotencyKeys {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly keyring: Keyring,
    private readonly leaseMs: number,
  ) {}

  /** The fingerprint of a create body (key order does not matter; the key itself is not part of it). */
  fingerprint(body: unknown, version = currentKeyVersion(this.keyring)): string {
    const master = this.keyring.keys.get(version);
    if (!master) return '';
    const key = Buffer.from(hkdfSync('sha256', master, HKDF_SALT, 'hmac-sha256', 32));
    return `v${version}.${createHmac('sha256', key).update(canonicalJson(body)).digest('hex')}`;
  }

  /**
   * Takes the key for a create of `body` under `connectionId`, or says what it holds. A different
   * body is IDEMPOTENCY_KEY_REUSED.
   */
  async claim(organizationId: string, idempotencyKey: string, body: unknown, connectionId: string) {
    const fingerprint = this.fingerprint(body);
    const entry: Entry = { state: 'in-flight', fingerprint, connectionId };
    const held = await this.call(() =>
      this.redis.eval(
        CLAIM_SCRIPT,
        1,
        this.keyOf(organizationId, idempotencyKey),
        JSON.stringify(entry),
        this.leaseMs,
      ),
    );
    if (held === null) return { kind: 'claimed', connectionId } satisfies Claim;
    const current = JSON.parse(String(held)) as Entry;
    const version = Number(/^v(\d+)\./.exec(current.fingerprint)?.[1]);
    if (this.fingerprint(body, version) !== current.fingerprint) {
      throw new AppError(
        'IDEMPOTENCY_KEY_REUSED',
        'this Idempotency-Key was used with another request body in the last 24 hours; use a new key for a new create',
      );
    }
    return current.state === 'done'
      ? ({ kind: 'done', response: current.response } satisfies Claim)
      : ({ kind: 'in-flight', connectionId: current.connectionId } satisfies Claim);
  }

  /** Records the answer of the create that holds the key, for 24 h. */
  async complete(organizationId: string, idempotencyKey: string, body: unknown, response: Connection) {
    const entry: Entry = {
      state: 'done',
      fingerprint: this.fingerprint(body),
      connectionId: response.id,
      response,
    };
    await this.call(() =>
      this.redis.set(
        this.keyOf(organizationId, idempotencyKey),
        JSON.stringify(entry),
        'EX',
        IDEMPOTENCY_TTL_SECONDS,
      ),
    );
  }

  /** Gives the key back after a create that stored nothing (refused, store down), unless another holds it. */
  async release(organizationId: string, idempotencyKey: string, connectionId: string) {
    await this.call(() =>
      this.redis.eval(RELEASE_SCRIPT, 1, this.keyOf(organizationId, idempotencyKey), connectionId),
    );
  }

  inProgress(): AppError {
    return new AppError(
      'IDEMPOTENCY_KEY_IN_PROGRESS',
      'a create with this Idempotency-Key is still in progress; retry to get its answer',
      { retryAfter: IN_PROGRESS_RETRY_AFTER_SECONDS },
    );
  }

  /** A hash: keys of any characters and length map to one short Redis key per organization. */
  private keyOf(organizationId: string, idempotencyKey: string): string {
    const digest = createHash('sha256').update(`${organizationId}\u0000${idempotencyKey}`).digest('hex');
    return `${this.prefix}:idempotency:${digest}`;
  }

  private async call<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (cause) {
      throw new AppError('UNAVAILABLE', 'Idempotency keys are unavailable (Redis)', {
        retryAfter: RETRY_AFTER_SECONDS,
        cause,
      });
    }
  }
}

/** KEYS[1]: the key; ARGV[1]: the in-flight entry; ARGV[2]: the lease (ms). The held entry, or nil when taken. */
const CLAIM_SCRIPT = `
local held = redis.call('GET', KEYS[1])
if held then return held end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false
`;

/** KEYS[1]: the key; ARGV[1]: the connection id it was claimed for. Deletes only an in-flight claim of that id. */
const RELEASE_SCRIPT = `
local held = redis.call('GET', KEYS[1])
if not held then return 0 end
local entry = cjson.decode(held)
if entry.state == 'in-flight' and entry.connectionId == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`;

/** JSON with object keys sorted at every level, so equal bodies give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}
