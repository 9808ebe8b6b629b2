import type { Socket } from 'node:net';
import { fail } from '../failures/stage-failure.js';

/**
 * Reads the first protocol unit from a socket without switching it to flowing mode, so the socket
 * can be handed to a driver afterwards as if nobody had read from it.
 *
 * `unitLength(buffer)` returns the unit's byte length once `buffer` holds enough to know it.
 * Bytes past the unit are put back; with `peek`, the unit is put back too (the driver reads it again).
 */
export function readUnit(
  socket: Socket,
  unitLength: (buffered: Buffer) => number | undefined,
  options: { signal: AbortSignal; peek?: boolean },
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const cleanup = () => {
      socket.removeListener('readable', onReadable);
      socket.removeListener('end', onClosed);
      socket.removeListener('close', onClosed);
      socket.removeListener('error', onClosed);
      options.signal.removeEventListener('abort', onClosed);
    };
    const onClosed = (error?: unknown) => {
      cleanup();
      reject(fail('CONNECTION_LOST', error));
    };
    const onReadable = () => {
      for (
        let chunk = socket.read() as Buffer | null;
        chunk !== null;
        chunk = socket.read() as Buffer | null
      ) {
        buffered = Buffer.concat([buffered, chunk]);
      }
      const length = unitLength(buffered);
      if (length === undefined || buffered.length < length) return;
      // Removing the last 'readable' listener puts the stream back in its initial (not flowing,
      // not paused) state, so a driver's later on('data') starts it as on a fresh socket.
      cleanup();
      const unit = buffered.subarray(0, length);
      const rest = options.peek ? buffered : buffered.subarray(length);
      if (rest.length > 0) socket.unshift(rest);
      resolve(unit);
    };
    socket.on('readable', onReadable);
    socket.once('end', onClosed);
    socket.once('close', onClosed);
    socket.once('error', onClosed);
    options.signal.addEventListener('abort', onClosed, { once: true });
  });
}

/**
 * Lets a driver that insists on calling `stream.connect()` (node-postgres) take a socket that is
 * already connected (and possibly already TLS): `connect` just reports success.
 */
export function asConnectedStream<T extends Socket>(socket: T): T {
  Object.defineProperty(socket, 'connect', {
    configurable: true,
    value: () => {
      process.nextTick(() => socket.emit('connect'));
      return socket;
    },
  });
  return socket;
}
