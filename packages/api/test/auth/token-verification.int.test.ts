import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@dbconn/shared';
import { type CertificateAuthority, makeCa } from '@dbconn/worker/test-fixtures';
import Fastify from 'fastify';
import { importPKCS8 } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { connect } from '../../examples/typed-client.js';
import { AccessControl } from '../../src/auth/access-control.js';
import { type Harness, http, seedBody, startApi } from '../harness.js';
import {
  type Alg,
  AUDIENCE,
  bearer,
  type FakeAccessManager,
  ISSUER,
  makeKey,
  type SigningKey,
  sign,
  signHs256,
  startFakeAccessManager,
  startJwks,
  unsignedToken,
} from './fixtures.js';

const BASE = '/v1/management/connections';
const ALGORITHMS: Alg[] = ['RS256', 'PS256', 'ES256', 'EdDSA'];

/** The signing key of an X.509 certificate made with openssl: AUTH_JWT_VERIFY_CERT gets the certificate. */
async function certificateKey(ca: CertificateAuthority): Promise<SigningKey> {
  const leaf = await ca.issue({ commonName: 'token signer' });
  const privateKey = await importPKCS8(leaf.key, 'ES256');
  return { alg: 'ES256', kid: 'cert', privateKey, publicKey: privateKey, pem: leaf.cert, jwk: {} };
}

/** The status a list call answers with this token (200: accepted; 401: refused). */
const listWith = async (h: Harness, token: string) => http(h, 'GET', BASE, { headers: bearer(token) });

/**
 * Local token verification (docs/contract.md §8) with real signatures: every key is made by the test
 * (jose, openssl), every token signed with it. The Access Manager is a real HTTP server on loopback
 * that records each question: a refused token must never reach it.
 */
describe('token verification with PEM keys and certificates, before the Access Manager', () => {
  let h: Harness;
  let am: FakeAccessManager;
  let ca: CertificateAuthority;
  const keys = {} as Record<Alg, SigningKey>;
  let rotatedOut: SigningKey;
  let certificate: SigningKey;

  beforeAll(async () => {
    am = await startFakeAccessManager();
    ca = await makeCa('token signers');
    for (const alg of ALGORITHMS) keys[alg] = await makeKey(alg);
    // Rotation overlap: the key being retired sits next to the new RS256 one.
    rotatedOut = await makeKey('RS256');
    certificate = await certificateKey(ca);
    h = await startApi({
      PLUGIN_AUTH_ENABLED: 'true',
      PLUGIN_AUTH_ADDRESS: am.url,
      AUTH_JWT_VERIFY_CERT: [rotatedOut.pem, ...ALGORITHMS.map((alg) => keys[alg].pem), certificate.pem].join(
        '\n',
      ),
      AUTH_JWT_ISSUER: ISSUER,
      AUTH_JWT_AUDIENCE: AUDIENCE,
      AUTH_CLOCK_SKEW_SECONDS: '60',
    });
  });
  afterAll(async () => {
    await h?.close();
    await am?.close();
    await ca?.remove();
  });
  beforeEach(() => {
    am.behave('allow');
    am.asked.length = 0;
  });

  it.each(ALGORITHMS)('accepts a %s token and then asks the Access Manager', async (alg) => {
    const res = await listWith(h, await sign(keys[alg], { claims: { sub: `signed-${alg}` } }));
    expect(res.status).toBe(200);
    expect(am.asked.map((q) => q.body.sub)).toEqual([`acme/signed-${alg}`]);
  });

  it('accepts both keys of a rotation overlap, and a key given as an X.509 certificate', async () => {
    for (const key of [rotatedOut, keys.RS256, certificate]) {
      expect((await listWith(h, await sign(key))).status, key.kid).toBe(200);
    }
    expect(am.asked).toHaveLength(3);
  });

  it('refuses, with 401 invalid_token and without asking, alg none, HS256 without a secret, an unknown key and a certificate’s key it was not given', async () => {
    const strangerCa = await makeCa('stranger');
    try {
      const refused = {
        'alg none': unsignedToken(),
        'HS256 without AUTH_JWT_SECRET': await signHs256('a-shared-secret-of-at-least-32-chars!!'),
        'an RS256 key nobody configured': await sign(await makeKey('RS256')),
        'an EdDSA key nobody configured': await sign(await makeKey('EdDSA')),
        'a certificate nobody configured': await sign(await certificateKey(strangerCa)),
        // The right key, the wrong algorithm in the header: RS256's key does not make PS256 tokens valid.
        'a PS256 header on an RS256 signature': await resignedHeader(await sign(keys.RS256), 'PS256'),
      };
      for (const [name, token] of Object.entries(refused)) {
        const res = await listWith(h, token);
        expect(res.status, name).toBe(401);
        expect(res.body.code, name).toBe('UNAUTHENTICATED');
        expect(res.headers.get('www-authenticate'), name).toBe('Bearer error="invalid_token"');
      }
      expect(am.asked).toEqual([]);
    } finally {
      await strangerCa.remove();
    }
  });

  it('allows AUTH_CLOCK_SKEW_SECONDS of leeway on exp and nbf, and refuses beyond it', async () => {
    const rs = keys.RS256;
    expect((await listWith(h, await sign(rs, { expiresIn: -20 }))).status).toBe(200);
    expect((await listWith(h, await sign(rs, { notBefore: 20 }))).status).toBe(200);
    expect(am.asked).toHaveLength(2);
    am.asked.length = 0;
    const expired = await listWith(h, await sign(rs, { expiresIn: -300 }));
    expect(expired.status).toBe(401);
    expect(expired.body.detail).toContain('expired');
    const early = await listWith(h, await sign(rs, { notBefore: 300 }));
    expect(early.status).toBe(401);
    expect(early.body.detail).toContain('not valid yet');
    expect(am.asked).toEqual([]);
  });

  it('fails closed when the Access Manager fails after a good token: 503, nothing written', async () => {
    const before = await h.rawRows();
    am.behave('status-500');
    const res = await http(h, 'POST', BASE, {
      body: seedBody(),
      headers: { ...bearer(await sign(keys.EdDSA)), 'x-product-name': 'my-product' },
    });
    expect(res.status).toBe(503);
    expect(res.body.code).toBe('AUTH_UNAVAILABLE');
    expect(await h.rawRows()).toEqual(before);
  });
});

/** The token's payload and signature under another protected header (alg swapped). */
async function resignedHeader(token: string, alg: string): Promise<string> {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const decoded = JSON.parse(Buffer.from(header, 'base64url').toString());
  return [Buffer.from(JSON.stringify({ ...decoded, alg })).toString('base64url'), payload, signature].join(
    '.',
  );
}

describe('keys from AUTH_JWT_VERIFY_CERT_PATH, without an Access Manager, per tenant', () => {
  let h: Harness;
  let ca: CertificateAuthority;
  let dir: string;
  let certificate: SigningKey;
  let key: SigningKey;

  beforeAll(async () => {
    ca = await makeCa('path signers');
    certificate = await certificateKey(ca);
    key = await makeKey('ES256');
    dir = await mkdtemp(join(tmpdir(), 'dbconn-keys-'));
    const path = join(dir, 'signers.pem');
    await writeFile(path, `${certificate.pem}\n${key.pem}`);
    h = await startApi({
      AUTH_JWT_VERIFY_CERT_PATH: path,
      AUTH_JWT_ISSUER: ISSUER,
      AUTH_JWT_AUDIENCE: AUDIENCE,
      MULTI_TENANT_ENABLED: 'true',
    });
  });
  afterAll(async () => {
    await h?.close();
    await ca?.remove();
    await rm(dir, { recursive: true, force: true });
  });

  it('allows a verified token within its tenant, and only there', async () => {
    const acme = await sign(key, { claims: { tenantId: 'acme' } });
    const globex = await sign(certificate, { claims: { tenantId: 'globex', sub: 'bob', owner: 'globex' } });
    const created = await http(h, 'POST', BASE, {
      body: seedBody(),
      headers: { ...bearer(acme), 'x-product-name': 'my-product' },
    });
    expect(created.status).toBe(201);
    expect(created.body.createdBy).toBe('acme/alice');
    expect((await listWith(h, acme)).body.total).toBe(1);
    expect((await listWith(h, globex)).body).toMatchObject({ items: [], total: 0 });
    const id = created.body.id as string;
    expect((await http(h, 'GET', `${BASE}/${id}`, { headers: bearer(globex) })).status).toBe(404);
    expect((await http(h, 'GET', `${BASE}/${id}`, { headers: bearer(acme) })).status).toBe(200);
    // A verified token without the tenant claim names no organization.
    const noTenant = await listWith(h, await sign(key));
    expect(noTenant.status).toBe(403);
    expect(noTenant.body.code).toBe('TENANT_REQUIRED');
    expect(
      (await listWith(h, await sign(await makeKey('ES256'), { claims: { tenantId: 'acme' } }))).status,
    ).toBe(401);
  });
});

describe('HS256 with AUTH_JWT_SECRET', () => {
  const secret = `secret-${randomUUID()}-${randomUUID()}`;
  let h: Harness;
  let am: FakeAccessManager;

  beforeAll(async () => {
    am = await startFakeAccessManager();
    h = await startApi({
      PLUGIN_AUTH_ENABLED: 'true',
      PLUGIN_AUTH_ADDRESS: am.url,
      AUTH_JWT_SECRET: secret,
      AUTH_JWT_ISSUER: ISSUER,
      AUTH_JWT_AUDIENCE: AUDIENCE,
    });
  });
  afterAll(async () => {
    await h?.close();
    await am?.close();
  });

  it('accepts a token signed with the secret; refuses another secret, alg none and public-key tokens', async () => {
    expect((await listWith(h, await signHs256(secret))).status).toBe(200);
    expect(am.asked).toHaveLength(1);
    for (const token of [
      await signHs256(`${secret}-other`),
      unsignedToken(),
      await sign(await makeKey('RS256')),
    ]) {
      expect((await listWith(h, token)).status).toBe(401);
    }
    expect(am.asked).toHaveLength(1);
  });
});

describe('a JWKS on loopback whose key is rolled while the API runs', () => {
  let am: FakeAccessManager;
  let oldKey: SigningKey;
  let newKey: SigningKey;

  beforeAll(async () => {
    am = await startFakeAccessManager();
    oldKey = await makeKey('RS256', 'key-2026-11');
    newKey = await makeKey('ES256', 'key-2026-12');
  });
  afterAll(async () => {
    await am?.close();
  });
  beforeEach(() => {
    am.behave('allow');
    am.asked.length = 0;
  });

  const jwksApi = async (jwksUrl: string, env: Record<string, string> = {}) =>
    startApi({
      PLUGIN_AUTH_ENABLED: 'true',
      PLUGIN_AUTH_ADDRESS: am.url,
      AUTH_JWKS_URL: jwksUrl,
      AUTH_JWT_ISSUER: ISSUER,
      AUTH_JWT_AUDIENCE: AUDIENCE,
      ...env,
    });

  it('picks up a new key on its first unknown kid, with no restart; a key taken out stops working', async () => {
    const jwks = await startJwks([oldKey]);
    // No cooldown: every unknown kid may refetch, so the roll is seen at once.
    const h = await jwksApi(jwks.url, { AUTH_JWKS_COOLDOWN_SECONDS: '0' });
    try {
      expect((await listWith(h, await sign(oldKey, { withKid: true }))).status).toBe(200);
      expect(jwks.fetches()).toBe(1);
      // Cached: a second token of the same key fetches nothing.
      expect((await listWith(h, await sign(oldKey, { withKid: true }))).status).toBe(200);
      expect(jwks.fetches()).toBe(1);

      jwks.serve([newKey]);
      expect((await listWith(h, await sign(newKey, { withKid: true }))).status).toBe(200);
      expect(jwks.fetches()).toBe(2);
      const retired = await listWith(h, await sign(oldKey, { withKid: true }));
      expect(retired.status).toBe(401);
      expect(retired.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
      expect(am.asked.map((q) => q.body.action)).toEqual(['get', 'get', 'get']);
    } finally {
      await h.close();
      await jwks.close();
    }
  });

  it('refetches for unknown kids at most once per AUTH_JWKS_COOLDOWN_SECONDS (default 30), so forged kids cannot flood the JWKS', async () => {
    expect(loadConfig({ NODE_ENV: 'test' }).auth.jwt.jwksCooldownSeconds).toBe(30);
    const jwks = await startJwks([oldKey]);
    const h = await jwksApi(jwks.url);
    try {
      expect((await listWith(h, await sign(oldKey, { withKid: true }))).status).toBe(200);
      expect(jwks.fetches()).toBe(1);
      jwks.serve([oldKey, newKey]);
      for (const kid of ['forged-1', 'forged-2', 'forged-3']) {
        const forged = await sign({ ...oldKey, kid }, { withKid: true });
        expect((await listWith(h, forged)).status, kid).toBe(401);
      }
      // Inside the cooldown even the real new key waits: it is seen once the cooldown has passed.
      expect((await listWith(h, await sign(newKey, { withKid: true }))).status).toBe(401);
      expect(jwks.fetches()).toBe(1);
      expect(am.asked).toHaveLength(1);
    } finally {
      await h.close();
      await jwks.close();
    }
  });

  it('answers 503 AUTH_UNAVAILABLE when the JWKS cannot be read, asks nobody and writes nothing', async () => {
    // A JWKS address where nothing answers any more.
    const jwks = await startJwks([oldKey]);
    await jwks.close();
    const h = await jwksApi(jwks.url);
    try {
      const before = await h.rawRows();
      const res = await http(h, 'POST', BASE, {
        body: seedBody(),
        headers: { ...bearer(await sign(oldKey, { withKid: true })), 'x-product-name': 'my-product' },
      });
      expect(res.status).toBe(503);
      expect(res.body.code).toBe('AUTH_UNAVAILABLE');
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(am.asked).toEqual([]);
      expect(await h.rawRows()).toEqual(before);
      // The same through tRPC.
      await expect(
        connect(h.url, { token: await sign(oldKey, { withKid: true }) }).connections.list.query({}),
      ).rejects.toMatchObject({ data: { code: 'AUTH_UNAVAILABLE', httpStatus: 503 } });
    } finally {
      await h.close();
    }
  });
});

describe('AUTH_REQUIRED', () => {
  /** Whether the API would start with this environment (what buildServer does first). */
  function starts(env: Record<string, string>) {
    const app = Fastify();
    try {
      return AccessControl.fromConfig(loadConfig({ NODE_ENV: 'test', ...env }).auth, app.log).isEnabled;
    } finally {
      void app.close();
    }
  }

  it('refuses to start with auth off or half-configured; starts with either mode', () => {
    expect(() => starts({ AUTH_REQUIRED: 'true' })).toThrow(/AUTH_REQUIRED/);
    expect(() => starts({ NODE_ENV: 'production', MASTER_KEYS: `1:${'A'.repeat(44)}` })).toThrow(
      /AUTH_REQUIRED/,
    );
    for (const [env, variable] of [
      [{ PLUGIN_AUTH_ENABLED: 'true' }, 'PLUGIN_AUTH_ADDRESS'],
      [{ PLUGIN_AUTH_ADDRESS: 'http://127.0.0.1:1' }, 'PLUGIN_AUTH_ENABLED'],
      [{ AUTH_JWT_ISSUER: ISSUER }, 'AUTH_JWT_ISSUER'],
      [{ AUTH_JWT_AUDIENCE: AUDIENCE }, 'AUTH_JWT_AUDIENCE'],
      [{ MULTI_TENANT_ENABLED: 'true' }, 'MULTI_TENANT_ENABLED'],
      [{ AUTH_JWT_VERIFY_CERT: 'not a key' }, 'AUTH_JWT_VERIFY_CERT'],
      [{ AUTH_JWT_VERIFY_CERT_PATH: '/nonexistent/keys.pem' }, 'AUTH_JWT_VERIFY_CERT_PATH'],
      [{ AUTH_JWT_SECRET: 'short' }, 'AUTH_JWT_SECRET'],
    ] as const) {
      expect(() => starts({ AUTH_REQUIRED: 'true', ...env }), variable).toThrow(variable);
    }
    expect(
      starts({ AUTH_REQUIRED: 'true', PLUGIN_AUTH_ENABLED: 'true', PLUGIN_AUTH_ADDRESS: 'http://am:1' }),
    ).toBe(true);
    expect(starts({ AUTH_REQUIRED: 'true', AUTH_JWKS_URL: 'http://127.0.0.1:1/jwks.json' })).toBe(true);
    expect(starts({})).toBe(false);
  });
});
