import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type CryptoKey,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  SignJWT,
} from 'jose';

/** Issuer and audience the auth tests configure and sign with. */
export const ISSUER = 'https://auth.test.example';
export const AUDIENCE = 'dbconn';

export type Alg = 'RS256' | 'PS256' | 'ES256' | 'EdDSA';

export interface SigningKey {
  alg: Alg;
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** The public key as PEM (SPKI), as AUTH_JWT_VERIFY_CERT takes it. */
  pem: string;
  jwk: JWK;
}

/** A fresh key pair made by the test: no key material is checked in. */
export async function makeKey(
  alg: Alg,
  kid = `${alg.toLowerCase()}-${randomUUID().slice(0, 8)}`,
): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const pem = await exportSPKI(publicKey);
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { alg, kid, privateKey, publicKey, pem, jwk };
}

export interface TokenOptions {
  claims?: JWTPayload;
  issuer?: string | undefined;
  audience?: string | undefined;
  /** Seconds from now; negative = already expired. */
  expiresIn?: number | undefined;
  notBefore?: number;
  /** Put the key's kid in the header (JWKS needs it; PEM keys do not). */
  withKid?: boolean;
  /** No `exp` claim at all. */
  noExpiry?: boolean;
}

/** A signed JWT as the platform issues them: `sub`, `owner`, `type`, tenant, iss, aud, exp. */
export async function sign(key: SigningKey, options: TokenOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ sub: 'alice', owner: 'acme', type: 'normal-user', ...options.claims })
    .setProtectedHeader({ alg: key.alg, typ: 'JWT', ...(options.withKid ? { kid: key.kid } : {}) })
    .setIssuedAt(now);
  const issuer = 'issuer' in options ? options.issuer : ISSUER;
  const audience = 'audience' in options ? options.audience : AUDIENCE;
  if (issuer) jwt.setIssuer(issuer);
  if (audience) jwt.setAudience(audience);
  if (!options.noExpiry) jwt.setExpirationTime(now + (options.expiresIn ?? 600));
  if (options.notBefore !== undefined) jwt.setNotBefore(now + options.notBefore);
  return jwt.sign(key.privateKey);
}

/** An HS256 token signed with a shared secret. */
export async function signHs256(secret: string, claims: JWTPayload = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sub: 'alice', ...claims })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setExpirationTime(now + 600)
    .sign(new TextEncoder().encode(secret));
}

/** `alg: none`: a token anyone can write. Must never be accepted nor forwarded. */
export function unsignedToken(claims: JWTPayload = {}): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({
    sub: 'alice',
    owner: 'acme',
    type: 'normal-user',
    iss: ISSUER,
    aud: AUDIENCE,
    exp: now + 600,
    ...claims,
  })}.`;
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

interface Loopback {
  url: string;
  close(): Promise<void>;
}

async function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const closeServer = (server: Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });

/** What the fake Access Manager was asked. */
export interface AskedDecision {
  path: string;
  method: string;
  authorization: string | undefined;
  body: { sub?: string; resource?: string; action?: string };
}

/** How the fake Access Manager answers the next questions. */
export type AccessManagerBehaviour =
  | 'allow'
  | 'deny'
  | 'status-401'
  | 'status-403'
  | 'status-500'
  | 'slow'
  | 'redirect'
  | 'garbage'
  | 'no-decision';

export interface FakeAccessManager extends Loopback {
  asked: AskedDecision[];
  behave(behaviour: AccessManagerBehaviour): void;
  /** Per-question decision, e.g. allow only some actions (overrides `behave` while set). */
  decide(rule: ((question: AskedDecision) => AccessManagerBehaviour) | undefined): void;
  /** Requests that followed a redirect to the trap server (must stay 0). */
  trapped: () => number;
}

/**
 * The platform's Access Manager, faked on loopback with a real HTTP server: it records each
 * question and answers as told — a decision, one of its error statuses, too slowly, a redirect (to
 * a trap that counts whoever follows it), or something that is not an answer.
 */
export async function startFakeAccessManager(slowMs = 2_000): Promise<FakeAccessManager> {
  let behaviour: AccessManagerBehaviour = 'allow';
  let rule: ((question: AskedDecision) => AccessManagerBehaviour) | undefined;
  const asked: AskedDecision[] = [];
  let trapped = 0;
  const trap = await listen((_req, res) => {
    trapped++;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"authorized":true}');
  });
  const pendingTimers = new Set<NodeJS.Timeout>();
  const { server, url } = await listen((req, res) => {
    let raw = '';
    req.on('data', (chunk) => {
      raw += chunk;
    });
    req.on('end', () => {
      let body: AskedDecision['body'] = {};
      try {
        body = JSON.parse(raw);
      } catch {
        // recorded as empty
      }
      const question: AskedDecision = {
        path: req.url ?? '',
        method: req.method ?? '',
        authorization: req.headers.authorization,
        body,
      };
      asked.push(question);
      const answer = rule ? rule(question) : behaviour;
      const json = (status: number, value: unknown) =>
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
      switch (answer) {
        case 'allow':
          return json(200, { authorized: true });
        case 'deny':
          return json(200, { authorized: false });
        case 'status-401':
          return json(401, { error: 'token not valid' });
        case 'status-403':
          return json(403, { error: 'forbidden' });
        case 'status-500':
          return json(500, { error: 'boom' });
        case 'slow': {
          const timer = setTimeout(() => {
            pendingTimers.delete(timer);
            json(200, { authorized: true });
          }, slowMs);
          pendingTimers.add(timer);
          return;
        }
        case 'redirect':
          return res.writeHead(307, { location: `${trap.url}/v1/authorize` }).end();
        case 'garbage':
          return res.writeHead(200, { 'content-type': 'application/json' }).end('<html>not json');
        case 'no-decision':
          return json(200, { authorized: 'yes' });
      }
    });
  });
  return {
    url,
    asked,
    behave: (next) => {
      behaviour = next;
    },
    decide: (next) => {
      rule = next;
    },
    trapped: () => trapped,
    close: async () => {
      for (const timer of pendingTimers) clearTimeout(timer);
      await closeServer(server);
      await closeServer(trap.server);
    },
  };
}

export interface FakeJwks extends Loopback {
  /** The keys served now. */
  serve(keys: SigningKey[]): void;
  fetches: () => number;
}

/** A JWKS endpoint on loopback whose keys the test can roll while the API runs. */
export async function startJwks(keys: SigningKey[]): Promise<FakeJwks> {
  let served = keys;
  let fetches = 0;
  const { server, url } = await listen((_req, res) => {
    fetches++;
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ keys: served.map((key) => key.jwk) }));
  });
  return {
    url: `${url}/.well-known/jwks.json`,
    serve: (next) => {
      served = next;
    },
    fetches: () => fetches,
    close: () => closeServer(server),
  };
}
