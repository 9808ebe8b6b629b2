import { randomFillSync } from 'node:crypto';

/**
 * Bytes of the operating system's generator drawn 4 KiB at a time: each `randomBytes` call costs
 * about 15 µs here however few bytes it asks for (a create asked three times: two ids and an IV,
 * bench/README.md, P1), so small draws come from one refilled buffer, as Node's own `randomUUID`
 * does. Bytes handed out are never handed out again.
 */
const POOL_SIZE = 4096;
const pool = Buffer.allocUnsafe(POOL_SIZE);
let offset = POOL_SIZE;

/** `size` fresh random bytes (a copy the caller owns); sizes over 256 go to the generator directly. */
export function randomBytesPooled(size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  if (size > 256) return randomFillSync(out);
  if (offset + size > POOL_SIZE) {
    randomFillSync(pool);
    offset = 0;
  }
  pool.copy(out, 0, offset, offset + size);
  offset += size;
  return out;
}
