import {
  AppError,
  type ConnectionRecord,
  type ConnectionSecrets,
  type Keyring,
  openStoredSecrets,
  SealError,
  type SslMode,
  type UpdateConnectionInput,
} from '@dbconn/shared';

/**
 * The stored secrets of a record. When they do not open (their master key version was removed, or
 * the value is damaged) a change that brings a new password replaces them — TLS material not given
 * again is dropped — and anything else is a 400 that says a new password is needed.
 */
export function storedSecretsFor(
  keyring: Keyring,
  record: Pick<ConnectionRecord, 'id' | 'organizationId' | 'sealedSecrets'>,
  input: Pick<UpdateConnectionInput, 'password'>,
): ConnectionSecrets {
  try {
    return openStoredSecrets(keyring, record);
  } catch (err) {
    if (!(err instanceof SealError)) throw err;
    if (input.password) return { password: input.password };
    throw new AppError(
      'VALIDATION_FAILED',
      'The stored credentials cannot be read with the configured master keys',
      {
        errors: [
          {
            field: 'password',
            message:
              'the stored password cannot be decrypted with the configured master keys: send the password again',
          },
        ],
        cause: err,
      },
    );
  }
}

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
