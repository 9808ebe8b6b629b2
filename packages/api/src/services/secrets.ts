import {
  AppError,
  type ConnectionRecord,
  type ConnectionSecrets,
  type FieldError,
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

/** The order of protection of the SSL modes; no `ssl` at all is `disable` (the worker dials without TLS). */
const SSL_STRENGTH: Record<SslMode, number> = {
  disable: 0,
  prefer: 1,
  require: 2,
  'verify-ca': 3,
  'verify-full': 4,
};

type TargetChange = Pick<UpdateConnectionInput, 'type' | 'host' | 'port' | 'password' | 'ssl'>;
type StoredTarget = Pick<
  ConnectionRecord,
  'id' | 'organizationId' | 'sealedSecrets' | 'type' | 'host' | 'port' | 'sslMode'
>;

/**
 * What in a change sends the dial somewhere the stored password has not been sent, judged without
 * opening the secrets: another engine, host or port, or a lower ssl.mode (docs/contract.md §8).
 */
function redirectionWithoutSecrets(record: StoredTarget, input: TargetChange): string[] {
  const reasons: string[] = [];
  if (input.type !== undefined && input.type !== record.type) reasons.push('type');
  // DNS names ignore letter case: DB.example.com is the same destination as db.example.com.
  if (input.host !== undefined && input.host.toLowerCase() !== record.host.toLowerCase())
    reasons.push('host');
  if (input.port !== undefined && input.port !== record.port) reasons.push('port');
  if (input.ssl !== undefined) {
    const before = SSL_STRENGTH[record.sslMode ?? 'disable'];
    const after = SSL_STRENGTH[input.ssl?.mode ?? 'disable'];
    if (after < before) reasons.push(input.ssl === null ? 'ssl (removed)' : 'ssl.mode (lowered)');
  }
  return reasons;
}

/**
 * The trust anchor a change takes away or replaces: a stored CA removed, or a CA other than the one
 * the server's chain was checked against (any CA, when it was checked against the system store).
 * Another anchor lets another server pass as this one.
 */
function weakerTrust(
  storedMode: SslMode | undefined,
  stored: ConnectionSecrets,
  input: TargetChange,
): string[] {
  if (input.ssl === null) return stored.ca !== undefined ? ['ssl.ca (removed)'] : [];
  const ca = input.ssl?.ca;
  if (ca === undefined || ca === stored.ca) return [];
  const checkedChain = stored.ca !== undefined || storedMode === 'verify-ca' || storedMode === 'verify-full';
  return checkedChain ? ['ssl.ca (replaced)'] : [];
}

/**
 * Credential redirection (docs/contract.md §8): a stored password — and a stored client key — is
 * never sent to a new destination, or over weaker TLS, unless the caller gives it again. The one
 * rule for PATCH and for try-before-save with an `id`, on both doors.
 */
function refuseRedirection(reasons: string[], stored: ConnectionSecrets, input: TargetChange): void {
  if (reasons.length === 0) return;
  const why = `${reasons.join(', ')} ${reasons.length === 1 ? 'changes' : 'change'} where the stored credentials would be sent`;
  const errors: FieldError[] = [];
  if (!input.password) {
    errors.push({
      field: 'password',
      message: `${why}: send the password again (a stored password never goes to a new destination or over weaker TLS unless it is given again)`,
    });
  }
  if (stored.key !== undefined && input.ssl !== null && input.ssl?.key === undefined) {
    errors.push({
      field: 'ssl.key',
      message: `${why}: send ssl.cert and ssl.key again (a stored client key never goes to a new destination unless it is given again)`,
    });
  }
  if (errors.length > 0) {
    throw new AppError('VALIDATION_FAILED', `The change needs the credentials again: ${why}`, { errors });
  }
}

/**
 * The secrets a change (an update, or a trial with an `id`) dials with, after the redirection rule;
 * undefined when the change touches neither the secrets nor where they are sent (the stored secrets
 * are then not even opened, so a metadata edit works on secrets that no longer open).
 */
export function secretsAfterChange(
  keyring: Keyring,
  record: StoredTarget,
  input: TargetChange,
): { secrets: ConnectionSecrets; sslMode: SslMode | undefined; changed: boolean } | undefined {
  const moved = redirectionWithoutSecrets(record, input);
  if (!input.password && input.ssl === undefined && moved.length === 0) return undefined;
  const stored = storedSecretsFor(keyring, record, input);
  refuseRedirection([...moved, ...weakerTrust(record.sslMode, stored, input)], stored, input);
  return applySecretChanges(stored, record.sslMode, input);
}
