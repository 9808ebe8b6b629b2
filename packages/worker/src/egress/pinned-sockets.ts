import { AsyncLocalStorage } from 'node:async_hooks';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';

/**
 * Keeps a driver that opens sockets on its own to the one address the egress policy checked.
 *
 * node-oracledb (thin) follows a listener's REDIRECT to whatever host and port the listener names,
 * and through an HTTPS proxy if the redirect says so: a listener run by a user could point the
 * worker anywhere (docs/contract.md §8: "dial the checked address"). While a pinned call runs, every new
 * outgoing socket of that call (its async context, not the rest of the process) must go to the
 * pinned address and port; anything else throws before a packet leaves, and the attempt is
 * recorded for the adapter to report.
 */

/** The one destination a pinned call may open sockets to. */
export interface Pin {
  address: string;
  port: number;
  /** Set when the call tried to open a socket elsewhere (the first such attempt). */
  refused?: { host: string; port: number };
}

/** Thrown into the driver instead of opening a socket to an address that was not checked. */
export class UnpinnedDialError extends Error {
  override name = 'UnpinnedDialError';
  readonly code = 'EDBCONN_UNPINNED';
  constructor(host: string, port: number) {
    // Names the target for the worker's log only; users see the REDIRECT_REFUSED text.
    super(`a socket to ${host}:${port} was refused: only the checked address may be dialled`);
  }
}

const pins = new AsyncLocalStorage<Pin>();
let installed = false;

/** The host and port a net/tls connect call asks for; undefined when it wraps an existing socket. */
function destination(args: unknown[]): { host: string; port: number } | undefined {
  const [first, second] = args;
  if (typeof first === 'object' && first !== null) {
    const options = first as { host?: unknown; port?: unknown; socket?: unknown; path?: unknown };
    if (options.socket) return undefined;
    if (typeof options.path === 'string') return { host: options.path, port: 0 };
    return { host: String(options.host ?? 'localhost'), port: Number(options.port) };
  }
  if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
    return { host: typeof second === 'string' ? second : 'localhost', port: Number(first) };
  }
  // connect(path): a local socket.
  return { host: String(first), port: 0 };
}

function guard(pin: Pin, target: { host: string; port: number }): void {
  if (target.host === pin.address && target.port === pin.port) return;
  pin.refused ??= target;
  throw new UnpinnedDialError(target.host, target.port);
}

type AnyFunction = (...args: never[]) => unknown;

function wrapConnect<F extends AnyFunction>(original: F): F {
  return function (this: unknown, ...args: Parameters<F>) {
    const pin = pins.getStore();
    const target = pin && destination(args);
    if (pin && target) guard(pin, target);
    return original.apply(this, args);
  } as F;
}

function wrapRequest<F extends AnyFunction>(original: F): F {
  return function (this: unknown, ...args: Parameters<F>) {
    const pin = pins.getStore();
    // A pinned call never needs HTTP (a driver would use it only to reach a proxy).
    if (pin) guard(pin, { host: 'an HTTP(S) proxy', port: 0 });
    return original.apply(this, args);
  } as F;
}

/** Patches the socket constructors once per process; outside a pinned call they behave as before. */
function install(): void {
  if (installed) return;
  installed = true;
  const connect = wrapConnect(net.connect);
  net.connect = connect;
  net.createConnection = connect;
  tls.connect = wrapConnect(tls.connect);
  http.request = wrapRequest(http.request);
  https.request = wrapRequest(https.request);
}

/**
 * Runs `call` (and everything it starts asynchronously) with its new sockets pinned to `pin`.
 * After the call, `pin.refused` says whether it tried to go elsewhere.
 */
export function withPinnedSockets<T>(pin: Pin, call: () => Promise<T>): Promise<T> {
  install();
  return pins.run(pin, call);
}
