import type { ConnectionSecrets, SslMode, UpdateConnectionInput } from '@dbconn/shared';

/**
 * Applies the secret-bearing part of an update (or a trial) to stored secrets: an omitted or empty
 * password keeps the stored one; `ssl: null` drops SSL and its material; an `ssl` object sets the
 * mode and replaces only the material it carries.
 */
export function applySecretChanges(
  stored: ConnectionSecrets,
  storedMode: SslMode | undefined,
  input: Pick<UpdateConnectionInput, 'password' | 'ssl'>,
): { secrets: ConnectionSecrets; sslMode: SslMode | undefined; changed: boolean } {
  const secrets: ConnectionSecrets = { ...stored };
  let sslMode = storedMode;
  let changed = false;
  if (input.password) {
    secrets.password = input.password;
    changed = true;
  }
  if (input.ssl === null) {
    delete secrets.ca;
    delete secrets.cert;
    delete secrets.key;
    sslMode = undefined;
    changed = changed || storedMode !== undefined || stored.ca !== undefined || stored.cert !== undefined;
  } else if (input.ssl) {
    if (input.ssl.ca !== undefined) secrets.ca = input.ssl.ca;
    if (input.ssl.cert !== undefined) {
      secrets.cert = input.ssl.cert;
      secrets.key = input.ssl.key;
    }
    changed =
      changed || input.ssl.mode !== storedMode || input.ssl.ca !== undefined || input.ssl.cert !== undefined;
    sslMode = input.ssl.mode;
  }
  return { secrets, sslMode, changed };
}
