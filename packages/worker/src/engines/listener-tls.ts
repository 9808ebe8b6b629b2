import { isIP } from 'node:net';
import { type PeerCertificate, connect as tlsConnect } from 'node:tls';
import { type FailureSpec, fail, StageFailure } from '../failures/stage-failure.js';
import { describeTls, probeListenerTls } from './tls.js';
import type { EngineContext } from './types.js';

/**
 * The tls stage of engines whose port decides TLS (Oracle TCPS, MongoDB): the handshake is tried
 * on the tcp stage's socket, under the same policy and with the original host name, so its errors
 * are as precise as anywhere else. The driver then dials the checked address itself, told whether
 * to use TLS. The probe socket is closed before the driver connects.
 */
export async function runListenerTlsStage(
  ctx: EngineContext,
): Promise<{ useTls: boolean; certificate?: PeerCertificate }> {
  const { stages, tls, socket } = ctx;
  if (tls.use === 'never') {
    stages.skip('tls');
    socket.destroy();
    return { useTls: false };
  }
  const secure = await stages.run(
    'tls',
    async (signal) => {
      const probed = await probeListenerTls(socket, tls, signal);
      if (!probed && tls.use === 'always') throw fail('TLS_NOT_OFFERED');
      return probed;
    },
    { skippedWhen: (probed) => (probed ? undefined : 'TLS_NOT_OFFERED') },
  );
  if (!secure) {
    socket.destroy();
    return { useTls: false };
  }
  ctx.report.tls = describeTls(secure);
  // Read before the socket closes: a closed TLS socket no longer has its peer's certificate.
  const certificate = secure.getPeerCertificate();
  secure.destroy();
  socket.destroy();
  return { useTls: true, certificate };
}

/**
 * Whether the port completes a TLS handshake, on a second socket to the same checked address and
 * port. The certificate is not checked: this only asks what the port speaks, and nothing of the
 * connection is used or reported. Any error, hang-up or the caller's deadline reads as "no".
 */
function portSpeaksTls(ctx: EngineContext, signal: AbortSignal): Promise<boolean> {
  const { address, settings, tls } = ctx;
  return new Promise((resolve) => {
    // The stage may already be over (the work goes on after its deadline): dial nothing then.
    if (signal.aborted) {
      resolve(false);
      return;
    }
    const probe = tlsConnect({
      host: address,
      port: settings.port,
      rejectUnauthorized: false,
      // SNI only for a name (RFC 6066 forbids an IP literal there), as for every other handshake.
      ...(isIP(tls.host) === 0 ? { servername: tls.host } : {}),
    });
    const done = (speaksTls: boolean) => {
      signal.removeEventListener('abort', onAbort);
      probe.destroy();
      resolve(speaksTls);
    };
    const onAbort = () => done(false);
    signal.addEventListener('abort', onAbort, { once: true });
    probe.once('secureConnect', () => done(true));
    probe.on('error', () => done(false));
    probe.once('close', () => done(false));
  });
}

const TLS_ONLY_PORT = {
  code: 'TLS_REQUIRED',
  stage: 'auth',
  message: (c) =>
    `The server at ${c.host}:${c.port} hung up on an unencrypted connection and completed a TLS handshake: the port accepts only TLS, and ssl.mode is ${c.sslMode}`,
} as const satisfies FailureSpec;

/**
 * Under ssl.mode disable, a server that hung up on the driver (or answered it with something that
 * is not the engine's protocol) is a TLS-only port when a TLS handshake with it succeeds — a
 * MongoDB with `net.tls.mode requireTLS`, an Oracle TCPS-only listener: `TLS_REQUIRED` then, the
 * failure as it was otherwise. Both facts are needed; neither alone says TLS is what is missing.
 */
export async function tlsRequiredOr(
  ctx: EngineContext,
  failure: unknown,
  signal: AbortSignal,
): Promise<unknown> {
  if (ctx.tls.use !== 'never' || !(failure instanceof StageFailure)) return failure;
  if (failure.code !== 'CONNECTION_LOST' && failure.code !== 'PROTOCOL_ERROR') return failure;
  return (await portSpeaksTls(ctx, signal)) ? fail(TLS_ONLY_PORT, failure) : failure;
}
