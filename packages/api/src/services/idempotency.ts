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
  /** `leaseUntil`: Redis time (ms) until which the create that claimed the key is taken to be running. */
  | { state: 'in-flight'; fingerprint: string; connectionId: string; leaseUntil: number }
  | { state: 'done'; fingerprint: string; connectionId: string; response: Connection };

export type Claim =
  /** The key is ours: create the connection under this id. */
  | { kind: 'claimed'; connectionId: string }
  /** A create with this key and body already answered: answer the same. */
  | { kind: 'done'; response: Connection }
  /**
   * A create with this key and body is running, or stopped before it recorded its answer; once its
   * lease is over (`isLeaseOver`) another attempt may take the key over (`takeOver`).
   */
  | { kind: 'in-flight'; connectionId: string; isLeaseOver: boolean };

/**
 * Stores the first answer of a create per organization and Idempotency-Key in Redis for 24 h. The key
 * is claimed before the create with the id the connection will get, and keeps that id for its 24 h,
 * answered or not. The claim's lease (`leaseMs`, longer than a create takes with every store call at
 * its deadline) only says how long other attempts wait for the first: after a process killed
 * mid-create, a retry finds the connection if it was stored, and once the lease is over takes the key
 * over and creates it under the same id. One id per key is what makes a second connection
 * impossible, even when the first attempt's insert lands after its lease (a store that froze with
 * the statement in hand): the later insert meets the earlier row, and the attempt answers with it.
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
    const entry: Omit<Entry & { state: 'in-flight' }, 'leaseUntil'> = {
      state: 'in-flight',
      fingerprint,
      connectionId,
    };
    const answer = (await this.call(() =>
      this.redis.eval(
        CLAIM_SCRIPT,
        1,
        this.keyOf(organizationId, idempotencyKey),
        JSON.stringify(entry),
        this.leaseMs,
        IDEMPOTENCY_TTL_SECONDS,
      ),
    )) as [string, number] | null;
    if (answer === null) return { kind: 'claimed', connectionId } satisfies Claim;
    const [held, now] = answer;
    const current = JSON.parse(held) as Entry;
    const version = Number(/^v(\d+)\./.exec(current.fingerprint)?.[1]);
    if (this.fingerprint(body, version) !== current.fingerprint) {
      throw new AppError(
        'IDEMPOTENCY_KEY_REUSED',
        'this Idempotency-Key was used with another request body in the last 24 hours; use a new key for a new create',
      );
    }
    if (current.state === 'done') return { kind: 'done', response: current.response } satisfies Claim;
    return {
      kind: 'in-flight',
      connectionId: current.connectionId,
      isLeaseOver: current.leaseUntil <= now,
    } satisfies Claim;
  }

  /**
   * Takes over a key whose claim's lease is over, for a new lease, keeping its connection id. False
   * when another attempt took it first, its create answered, or the lease is not over.
   */
  async takeOver(organizationId: string, idempotencyKey: string, connectionId: string): Promise<boolean> {
    const taken = await this.call(() =>
      this.redis.eval(
        TAKE_OVER_SCRIPT,
        1,
        this.keyOf(organizationId, idempotencyKey),
        connectionId,
        this.leaseMs,
      ),
    );
    return taken === 1;
  }

  /**
   * Ends the lease of a create that failed without knowing whether its insert landed (the store did
   * not answer): a retry may take the key over at once, under the same connection id.
   */
  async endLease(organizationId: string, idempotencyKey: string, connectionId: string) {
    await this.call(() =>
      this.redis.eval(END_LEASE_SCRIPT, 1, this.keyOf(organizationId, idempotencyKey), connectionId),
    );
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

  /** Gives the key back after a create that was refused (a 4xx: nothing stored), unless another holds it. */
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

/** Redis's clock in ms: one clock for every API process, so leases do not depend on theirs. */
const NOW_MS = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
`;

/**
 * KEYS[1]: the key; ARGV[1]: the in-flight entry without its lease; ARGV[2]: the lease (ms); ARGV[3]:
 * the key's life (s). Nil when taken, else the held entry and Redis's time (ms).
 */
const CLAIM_SCRIPT = `${NOW_MS}
local held = redis.call('GET', KEYS[1])
if held then return { held, now } end
local entry = cjson.decode(ARGV[1])
entry.leaseUntil = now + tonumber(ARGV[2])
redis.call('SET', KEYS[1], cjson.encode(entry), 'EX', ARGV[3])
return false
`;

/**
 * KEYS[1]: the key; ARGV[1]: the connection id it holds; ARGV[2]: the new lease (ms). 1 when the
 * in-flight claim of that id had no lease left and is now ours, else 0.
 */
const TAKE_OVER_SCRIPT = `${NOW_MS}
local held = redis.call('GET', KEYS[1])
if not held then return 0 end
local entry = cjson.decode(held)
if entry.state ~= 'in-flight' or entry.connectionId ~= ARGV[1] or entry.leaseUntil == nil then return 0 end
if entry.leaseUntil > now then return 0 end
entry.leaseUntil = now + tonumber(ARGV[2])
redis.call('SET', KEYS[1], cjson.encode(entry), 'KEEPTTL')
return 1
`;

/** KEYS[1]: the key; ARGV[1]: the connection id it was claimed for. Ends only an in-flight lease of that id. */
const END_LEASE_SCRIPT = `
local held = redis.call('GET', KEYS[1])
if not held then return 0 end
local entry = cjson.decode(held)
if entry.state ~= 'in-flight' or entry.connectionId ~= ARGV[1] then return 0 end
entry.leaseUntil = 0
redis.call('SET', KEYS[1], cjson.encode(entry), 'KEEPTTL')
return 1
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
