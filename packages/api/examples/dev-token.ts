/**
 * Tokens for trying access control on a development machine, without the platform's identity
 * provider (README, "Access control"). Keeps an ES256 key pair in `.auth-dev/` at the repository
 * root (made on first use, never committed) and:
 *
 *   pnpm --silent --filter @dbconn/api dev-token [--tenant acme] [--sub alice] [--owner acme]
 *       prints a token signed with it (valid one hour, iss/aud as below)
 *   pnpm --filter @dbconn/api dev-token jwks [--port 8090]
 *       serves the public key as a JWKS on http://127.0.0.1:<port>/.well-known/jwks.json
 *   pnpm --filter @dbconn/api dev-token access-manager [--port 8091] [--deny delete,patch]
 *       a stand-in for the platform's Access Manager on http://127.0.0.1:<port>: answers
 *       `POST /v1/authorize` with `{"authorized": true}` (false for the --deny actions) and prints
 *       each question (sub and action, never the token) — to run the Access Manager mode here
 *
 * The public key is also written as PEM to `.auth-dev/public.pem` for AUTH_JWT_VERIFY_CERT_PATH.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { exportJWK, exportSPKI, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';

export const DEV_ISSUER = 'https://dev-token.dbconn.local';
export const DEV_AUDIENCE = 'dbconn';
const KID = 'dev-token-es256';

const dir = new URL('../../../.auth-dev/', import.meta.url);

async function keyPair(): Promise<{ privateJwk: JWK; publicJwk: JWK }> {
  const file = new URL('private.jwk.json', dir);
  if (existsSync(file)) {
    const privateJwk = JSON.parse(readFileSync(file, 'utf8')) as JWK;
    const { d: _d, ...publicJwk } = privateJwk;
    return { privateJwk, publicJwk };
  }
  mkdirSync(dir, { recursive: true });
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const privateJwk = { ...(await exportJWK(privateKey)), kid: KID, alg: 'ES256' };
  writeFileSync(file, JSON.stringify(privateJwk), { mode: 0o600 });
  writeFileSync(new URL('public.pem', dir), await exportSPKI(publicKey));
  writeFileSync(new URL('.gitignore', dir), '*\n');
  const { d: _d, ...publicJwk } = privateJwk;
  return { privateJwk, publicJwk };
}

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      tenant: { type: 'string', default: 'acme' },
      sub: { type: 'string', default: 'alice' },
      owner: { type: 'string', default: 'acme' },
      port: { type: 'string' },
      deny: { type: 'string', default: '' },
    },
  });
  const { privateJwk, publicJwk } = await keyPair();
  if (positionals[0] === 'jwks') {
    const port = Number(values.port ?? 8090);
    const body = JSON.stringify({ keys: [{ ...publicJwk, use: 'sig' }] });
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    });
    server.listen(port, '127.0.0.1', () => {
      process.stderr.write(`JWKS on http://127.0.0.1:${port}/.well-known/jwks.json (Ctrl-C stops)\n`);
    });
    return;
  }
  if (positionals[0] === 'access-manager') {
    serveAccessManager(Number(values.port ?? 8091), new Set(values.deny.split(',').filter(Boolean)));
    return;
  }
  const token = await new SignJWT({
    sub: values.sub,
    owner: values.owner,
    type: 'normal-user',
    tenantId: values.tenant,
  })
    .setProtectedHeader({ alg: 'ES256', kid: KID, typ: 'JWT' })
    .setIssuer(DEV_ISSUER)
    .setAudience(DEV_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(await importJWK(privateJwk, 'ES256'));
  process.stdout.write(`${token}\n`);
}

/** The platform's `POST /v1/authorize`, deciding by action alone (development only: it checks no token). */
function serveAccessManager(port: number, denied: Set<string>) {
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk) => {
      raw += chunk;
    });
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/authorize') {
        res.writeHead(404).end();
        return;
      }
      let question: { sub?: unknown; resource?: unknown; action?: unknown } = {};
      try {
        question = JSON.parse(raw);
      } catch {
        // an empty question is denied below
      }
      const authorized = typeof question.action === 'string' && !denied.has(question.action);
      process.stderr.write(
        `${authorized ? 'allow' : 'deny '} ${String(question.sub)} ${String(question.action)} ${String(question.resource)}\n`,
      );
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ authorized }));
    });
  });
  server.listen(port, '127.0.0.1', () => {
    process.stderr.write(`Access Manager stand-in on http://127.0.0.1:${port} (Ctrl-C stops)\n`);
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
