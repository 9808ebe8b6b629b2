import { AppError, type Config, ConfigError } from '@dbconn/shared';
import type { FastifyBaseLogger } from 'fastify';
import { decodeJwt, decodeProtectedHeader, type JWTPayload } from 'jose';
import { AccessManagerClient } from './access-manager.js';
import type { Action } from './operations.js';
import { invalidToken, TokenVerifier } from './token-verifier.js';

/** Who is calling: the subject recorded on changes and in logs, and the organization every read and write is scoped to. */
export interface Identity {
  /** `<owner>/<sub>` for a normal user, else `sub`; undefined only while auth is off. */
  subject?: string | undefined;
  organizationId: string;
}

/** What a door hands over: the Authorization header (REST, tRPC), or a token from tRPC connection params. */
export interface Credentials {
  authorization?: string | undefined;
  log: FastifyBaseLogger;
}

const BEARER = /^Bearer[ ]+([A-Za-z0-9\-._~+/]+=*)\s*$/i;

const missingToken = () =>
  new AppError('UNAUTHENTICATED', 'Send Authorization: Bearer <token>', {
    headers: { 'www-authenticate': 'Bearer' },
  });

/**
 * Access control (docs/contract.md §8): verifies the token (when a key source is set), asks the
 * Access Manager (when enabled), and names the caller's organization (from the tenant claim under
 * multi-tenancy, else the default one). With neither, auth is off and every caller is anonymous
 * in the default organization.
 */
export class AccessControl {
  private constructor(
    private readonly settings: Config['auth'],
    private readonly verifier: TokenVerifier | undefined,
    private readonly accessManager: AccessManagerClient | undefined,
  ) {}

  /**
   * From the configuration. Refuses (ConfigError) when AUTH_REQUIRED is on and no auth is set up,
   * so a typo in a variable name cannot leave the service open.
   */
  static fromConfig(settings: Config['auth'], log: FastifyBaseLogger): AccessControl {
    const verifier = TokenVerifier.fromConfig(settings.jwt);
    const accessManager = settings.accessManager
      ? new AccessManagerClient(settings.accessManager)
      : undefined;
    const control = new AccessControl(settings, verifier, accessManager);
    if (!control.isEnabled) {
      if (settings.required) {
        throw new ConfigError([
          'AUTH_REQUIRED: auth is required (the default when NODE_ENV=production) but not configured: set PLUGIN_AUTH_ENABLED=true with PLUGIN_AUTH_ADDRESS, or a key source (AUTH_JWKS_URL, AUTH_JWT_VERIFY_CERT, AUTH_JWT_VERIFY_CERT_PATH, AUTH_JWT_SECRET); AUTH_REQUIRED=false runs without auth',
        ]);
      }
      log.warn(
        { organizationId: settings.defaultOrganizationId },
        'auth is off: no token is asked for and every caller belongs to the default organization',
      );
    } else {
      log.info(
        {
          accessManager: accessManager !== undefined,
          localVerification: verifier !== undefined,
          multiTenant: settings.tenantClaim !== undefined,
        },
        'auth is on',
      );
    }
    return control;
  }

  get isEnabled(): boolean {
    return this.verifier !== undefined || this.accessManager !== undefined;
  }

  /** The caller's identity for one action, or the AppError to answer with (401, 403, 503). */
  async authorize(credentials: Credentials, action: Action): Promise<Identity> {
    if (!this.isEnabled) return { organizationId: this.settings.defaultOrganizationId };
    const match = credentials.authorization ? BEARER.exec(credentials.authorization) : null;
    if (!match) throw missingToken();
    const token = match[1] as string;
    const claims = this.verifier ? await this.verifier.verify(token) : readUnverified(token);
    const subject = subjectOf(claims);
    if (this.accessManager) {
      await this.accessManager.authorize({
        authorization: credentials.authorization as string,
        token,
        sub: subject,
        action,
        expiresAt: claims.exp,
        log: credentials.log,
      });
    }
    return { subject, organizationId: this.organizationOf(claims) };
  }

  private organizationOf(claims: JWTPayload): string {
    const claim = this.settings.tenantClaim;
    if (claim === undefined) return this.settings.defaultOrganizationId;
    const value = claims[claim];
    const organizationId = typeof value === 'number' ? String(value) : value;
    if (typeof organizationId !== 'string' || organizationId.trim() === '' || organizationId.length > 100) {
      throw new AppError('TENANT_REQUIRED', `The token has no ${claim} claim naming the organization`);
    }
    return organizationId;
  }
}

/**
 * Access Manager only (no key source): the Access Manager checks the token; here it is only read,
 * for the subject and the tenant. An unsigned one (`alg: none`) is refused before anyone is asked.
 */
function readUnverified(token: string): JWTPayload {
  try {
    const { alg } = decodeProtectedHeader(token);
    if (!alg || alg.toLowerCase() === 'none') throw new Error('unsigned');
    return decodeJwt(token);
  } catch (cause) {
    throw invalidToken('the token is not a signed JWT', cause);
  }
}

/** `<owner>/<sub>` for a token of type `normal-user` (the platform's users), else `sub`. */
export function subjectOf(claims: JWTPayload): string {
  const { sub } = claims;
  if (typeof sub !== 'string' || sub === '') throw invalidToken('the token has no sub claim');
  const owner = claims.owner;
  return claims.type === 'normal-user' && typeof owner === 'string' && owner !== '' ? `${owner}/${sub}` : sub;
}
