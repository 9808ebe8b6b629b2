import { createPublicKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { AppError, type Config, ConfigError, RETRY_AFTER_SECONDS } from '@dbconn/shared';
import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  type JWTPayload,
  type JWTVerifyOptions,
  errors as joseErrors,
  jwtVerify,
} from 'jose';

type JwtSettings = Config['auth']['jwt'];

/** The challenge of a 401 for a token that was sent but is not good (RFC 6750 §3.1). */
export const INVALID_TOKEN_CHALLENGE = 'Bearer error="invalid_token"';

/** Signature algorithms accepted with public keys (docs/contract.md §8). `none` never; HMAC only with the secret. */
const ASYMMETRIC = ['RS256', 'PS256', 'ES256', 'EdDSA', 'Ed25519'] as const;
const SYMMETRIC = ['HS256'] as const;

/** Which algorithms a public key can verify, by its type (an RSA key may sign RS256 or PS256). */
function algorithmsOf(key: KeyObject): readonly string[] {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return ['RS256', 'PS256'];
    case 'rsa-pss':
      return ['PS256'];
    case 'ec':
      return key.asymmetricKeyDetails?.namedCurve === 'prime256v1' ? ['ES256'] : [];
    case 'ed25519':
      return ['EdDSA', 'Ed25519'];
    default:
      return [];
  }
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]+?-----END \1-----/g;

/**
 * The public keys of `AUTH_JWT_VERIFY_CERT` and `AUTH_JWT_VERIFY_CERT_PATH`: PEM public keys or
 * certificates, several in a row (old and new overlap during a rotation). A private key, or text
 * with no PEM block, stops the start: it is a mistake that would otherwise leave tokens unchecked.
 */
export function parsePublicKeys(source: string, variable: string): KeyObject[] {
  // Environment files often carry PEM text with literal `\n`.
  const text = source.replaceAll('\\n', '\n');
  const keys: KeyObject[] = [];
  for (const match of text.matchAll(PEM_BLOCK)) {
    const [block, label] = match as unknown as [string, string];
    if (label.includes('PRIVATE')) {
      throw new ConfigError([`${variable}: holds a private key; give the public key or certificate only`]);
    }
    try {
      const key = label === 'CERTIFICATE' ? new X509Certificate(block).publicKey : createPublicKey(block);
      if (algorithmsOf(key).length === 0) {
        throw new Error(`unsupported key type ${key.asymmetricKeyType}`);
      }
      keys.push(key);
    } catch (cause) {
      throw new ConfigError([
        `${variable}: a ${label} block does not load (${cause instanceof Error ? cause.message : 'unreadable'}); RSA, EC P-256 and Ed25519 keys are accepted`,
      ]);
    }
  }
  if (keys.length === 0) {
    throw new ConfigError([`${variable}: no PEM public key or certificate found`]);
  }
  return keys;
}

/** Why a token is refused, in words a caller can act on (never the token itself). */
function reasonOf(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'the token has expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf') return 'the token is not valid yet';
    if (error.claim === 'iss') return 'the token was issued by another issuer';
    if (error.claim === 'aud') return 'the token is meant for another audience';
    return `the token's ${error.claim} claim is missing or invalid`;
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed)
    return 'the token signature does not verify';
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'no known key signed the token';
  if (error instanceof joseErrors.JOSEAlgNotAllowed)
    return 'the token is signed with an algorithm not accepted here';
  return 'the token is not a valid signed JWT';
}

export const invalidToken = (detail: string, cause?: unknown) =>
  new AppError('UNAUTHENTICATED', `Invalid token: ${detail}`, {
    headers: { 'www-authenticate': INVALID_TOKEN_CHALLENGE },
    cause,
  });

/** A JWKS that could not be fetched is our problem, not the caller's: 503, not 401. */
const isJwksUnreachable = (error: unknown) =>
  error instanceof joseErrors.JWKSTimeout ||
  error instanceof joseErrors.JWKSInvalid ||
  (error instanceof joseErrors.JOSEError && error.code === 'ERR_JOSE_GENERIC') ||
  error instanceof TypeError;

/**
 * Local token verification with jose (docs/contract.md §8): signature, `exp`/`nbf` (with the clock
 * skew), issuer and audience, before anything else looks at the token.
 */
export class TokenVerifier {
  private readonly options: JWTVerifyOptions;

  private constructor(
    private readonly keys: KeyObject[],
    private readonly jwks: ReturnType<typeof createRemoteJWKSet> | undefined,
    private readonly secret: Uint8Array | undefined,
    settings: JwtSettings,
  ) {
    this.options = {
      clockTolerance: settings.clockSkewSeconds,
      // Without `exp` a token would be good forever; without `sub` there is nobody to name.
      requiredClaims: ['exp', 'sub'],
      ...(settings.issuer ? { issuer: settings.issuer } : {}),
      ...(settings.audience && settings.audience.length > 0 ? { audience: settings.audience } : {}),
    };
  }

  /** The verifier of the configured key sources, or undefined when none is set. */
  static fromConfig(settings: JwtSettings): TokenVerifier | undefined {
    const keys = [
      ...(settings.verifyCert ? parsePublicKeys(settings.verifyCert, 'AUTH_JWT_VERIFY_CERT') : []),
      ...(settings.verifyCertPath
        ? parsePublicKeys(readKeyFile(settings.verifyCertPath), 'AUTH_JWT_VERIFY_CERT_PATH')
        : []),
    ];
    const jwks = settings.jwksUrl
      ? createRemoteJWKSet(new URL(settings.jwksUrl), {
          cooldownDuration: settings.jwksCooldownSeconds * 1000,
          timeoutDuration: 5_000,
        })
      : undefined;
    const secret = settings.secret ? new TextEncoder().encode(settings.secret) : undefined;
    if (keys.length === 0 && !jwks && !secret) return undefined;
    return new TokenVerifier(keys, jwks, secret, settings);
  }

  /** The verified claims; a 401 (invalid_token) for any token that does not pass, a 503 when the JWKS cannot be read. */
  async verify(token: string): Promise<JWTPayload> {
    let alg: string | undefined;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch (cause) {
      throw invalidToken('the token is not a JWT', cause);
    }
    if (alg && (SYMMETRIC as readonly string[]).includes(alg)) {
      if (!this.secret) throw invalidToken('HMAC-signed tokens are not accepted here');
      return this.check(() =>
        jwtVerify(token, this.secret as Uint8Array, { ...this.options, algorithms: [...SYMMETRIC] }),
      );
    }
    if (!alg || !(ASYMMETRIC as readonly string[]).includes(alg)) {
      throw invalidToken(`the algorithm ${alg ?? '(none)'} is not accepted`);
    }
    const candidates = this.keys.filter((key) => algorithmsOf(key).includes(alg));
    let lastError: unknown;
    for (const key of candidates) {
      try {
        return (await jwtVerify(token, key, { ...this.options, algorithms: [alg] })).payload;
      } catch (error) {
        // Another configured key may have signed it (a rotation): only a bad signature moves on.
        if (!(error instanceof joseErrors.JWSSignatureVerificationFailed))
          throw invalidToken(reasonOf(error), error);
        lastError = error;
      }
    }
    if (this.jwks) {
      const jwks = this.jwks;
      return this.check(() => jwtVerify(token, jwks, { ...this.options, algorithms: [...ASYMMETRIC] }));
    }
    throw invalidToken(
      candidates.length === 0 ? 'no configured key can verify this algorithm' : reasonOf(lastError),
      lastError,
    );
  }

  private async check(verify: () => Promise<{ payload: JWTPayload }>): Promise<JWTPayload> {
    try {
      return (await verify()).payload;
    } catch (error) {
      if (isJwksUnreachable(error)) {
        throw new AppError('AUTH_UNAVAILABLE', 'The signing keys (AUTH_JWKS_URL) could not be read', {
          retryAfter: RETRY_AFTER_SECONDS,
          cause: error,
        });
      }
      throw invalidToken(reasonOf(error), error);
    }
  }
}

function readKeyFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    throw new ConfigError([
      `AUTH_JWT_VERIFY_CERT_PATH: ${path} cannot be read (${cause instanceof Error ? cause.message : 'error'})`,
    ]);
  }
}
