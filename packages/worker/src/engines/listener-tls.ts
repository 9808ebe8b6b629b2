import type { PeerCertificate } from 'node:tls';
import { fail } from '../failures/stage-failure.js';
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
