import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InvalidTokenError } from '../../src/auth/token-verifier.js';
import { createOidcVerifier } from '../../src/http/auth/oidc-verifier.js';

const AUDIENCE = 'https://gateway.example.com/mcp';

/** A fake OpenID provider on 127.0.0.1: a discovery document and a key set, counting requests. */
interface FakeIssuer {
  readonly issuer: string;
  readonly requests: string[];
  /** What discovery says the issuer is; the real issuer unless a test changes it. */
  discoveredIssuer: string;
  close(): Promise<void>;
}

async function startIssuer(publicKeys: JWK[]): Promise<FakeIssuer> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(req.url ?? '');
    res.setHeader('content-type', 'application/json');
    if (req.url === '/.well-known/openid-configuration') {
      res.end(JSON.stringify({ issuer: fake.discoveredIssuer, jwks_uri: `${fake.issuer}/jwks` }));
    } else if (req.url === '/jwks') {
      res.end(JSON.stringify({ keys: publicKeys }));
    } else {
      res.statusCode = 404;
      res.end('{}');
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const fake: FakeIssuer = {
    issuer,
    requests,
    discoveredIssuer: issuer,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    }
  };
  return fake;
}

interface SigningKey {
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

async function signingKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  return { privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

const now = () => Math.floor(Date.now() / 1000);

describe('createOidcVerifier', () => {
  let key: SigningKey;
  let intruder: SigningKey;
  let fake: FakeIssuer;

  beforeAll(async () => {
    key = await signingKey('key-1');
    intruder = await signingKey('key-1');
    fake = await startIssuer([key.publicJwk]);
  });
  afterAll(() => fake.close());
  beforeEach(() => {
    fake.requests.length = 0;
    fake.discoveredIssuer = fake.issuer;
  });

  /** A token as the provider would issue it; `claims` override, `with` signs with another key or header. */
  function token(
    claims: JWTPayload = {},
    options: { signer?: SigningKey; kid?: string; alg?: string } = {}
  ): Promise<string> {
    const signer = options.signer ?? key;
    return new SignJWT({ sub: 'user-1', scope: 'mcp', ...claims })
      .setProtectedHeader({
        alg: options.alg ?? 'RS256',
        kid: options.kid ?? signer.publicJwk.kid!,
        typ: 'at+jwt'
      })
      .setIssuer(claims.iss ?? fake.issuer)
      .setAudience(claims.aud ?? AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(claims.exp ?? now() + 300)
      .sign(signer.privateKey);
  }

  const verifier = () => createOidcVerifier({ issuer: fake.issuer, audience: AUDIENCE });

  it('accepts a valid token of the issuer as oidc:<sub>, discovering the key set', async () => {
    await expect(verifier().verify(await token())).resolves.toEqual({
      id: 'oidc:user-1',
      kind: 'oidc',
      admin: false
    });
    expect(fake.requests).toEqual(['/.well-known/openid-configuration', '/jwks']);
  });

  it('accepts a token whose aud lists the audience among others', async () => {
    const principal = await verifier().verify(await token({ aud: ['another-api', AUDIENCE] }));
    expect(principal?.id).toBe('oidc:user-1');
  });

  it('discovers and fetches keys once for many tokens', async () => {
    const v = verifier();
    for (const sub of ['a', 'b', 'c'])
      await expect(v.verify(await token({ sub }))).resolves.toMatchObject({ id: `oidc:${sub}` });
    expect(fake.requests).toEqual(['/.well-known/openid-configuration', '/jwks']);
  });

  it('uses jwksUri when given, without discovery', async () => {
    const v = createOidcVerifier({ issuer: fake.issuer, audience: AUDIENCE, jwksUri: `${fake.issuer}/jwks` });
    await expect(v.verify(await token())).resolves.toMatchObject({ kind: 'oidc' });
    expect(fake.requests).toEqual(['/jwks']);
  });

  it('refuses an expired token', async () => {
    const expired = await token({ exp: now() - 120 });
    await expect(verifier().verify(expired)).rejects.toThrow(InvalidTokenError);
    await expect(verifier().verify(expired)).rejects.toThrow(/expired/);
  });

  it('refuses a token not yet valid (nbf)', async () => {
    await expect(verifier().verify(await token({ nbf: now() + 600 }))).rejects.toThrow(/nbf/);
  });

  it('refuses a token for another audience', async () => {
    await expect(verifier().verify(await token({ aud: 'https://other.example/mcp' }))).rejects.toThrow(
      /another audience/
    );
  });

  it('refuses a token signed by another key under a known kid (bad signature)', async () => {
    const forged = await token({}, { signer: intruder });
    await expect(verifier().verify(forged)).rejects.toBeInstanceOf(InvalidTokenError);
  });

  it('refuses a token whose payload was altered after signing', async () => {
    const [header, , signature] = (await token()).split('.');
    const payload = Buffer.from(
      JSON.stringify({ sub: 'admin', iss: fake.issuer, aud: AUDIENCE, exp: now() + 300 })
    ).toString('base64url');
    await expect(verifier().verify(`${header}.${payload}.${signature}`)).rejects.toThrow(/signature/);
  });

  it('refuses a token naming a key the issuer does not publish', async () => {
    await expect(
      verifier().verify(await token({}, { signer: intruder, kid: 'unknown' }))
    ).rejects.toBeInstanceOf(InvalidTokenError);
  });

  it('refuses an HMAC token (algorithm confusion) of the issuer', async () => {
    const hmac = await new SignJWT({ sub: 'user-1' })
      .setProtectedHeader({ alg: 'HS256', kid: 'key-1' })
      .setIssuer(fake.issuer)
      .setAudience(AUDIENCE)
      .setExpirationTime(now() + 300)
      .sign(new TextEncoder().encode(JSON.stringify(key.publicJwk)));
    await expect(verifier().verify(hmac)).rejects.toBeInstanceOf(InvalidTokenError);
  });

  it('refuses a token of the issuer without a subject', async () => {
    const anonymous = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid: 'key-1' })
      .setIssuer(fake.issuer)
      .setAudience(AUDIENCE)
      .setExpirationTime(now() + 300)
      .sign(key.privateKey);
    await expect(verifier().verify(anonymous)).rejects.toThrow(/subject/);
  });

  it('leaves a token of another issuer to the next verifier, without fetching anything', async () => {
    await expect(
      verifier().verify(await token({ iss: 'https://other-issuer.example' }))
    ).resolves.toBeUndefined();
    expect(fake.requests).toEqual([]);
  });

  it('leaves tokens that are not JWTs to the next verifier', async () => {
    const v = verifier();
    await expect(v.verify('mgw_0123456789abcdefghijklmnopqrstuvwxyz')).resolves.toBeUndefined();
    await expect(v.verify('V35l642iPqyp3F8rpeVc01_stdB3zlkfV5BcVeQl2mp')).resolves.toBeUndefined();
    await expect(v.verify('not.a.jwt')).resolves.toBeUndefined();
    await expect(v.verify('a.b.c.d.e')).resolves.toBeUndefined();
    expect(fake.requests).toEqual([]);
  });

  it('fails (not refuses) when discovery names another issuer, and retries discovery next time', async () => {
    fake.discoveredIssuer = 'https://impostor.example';
    const v = verifier();
    const attempt = v.verify(await token());
    await expect(attempt).rejects.toThrow(/names the issuer/);
    await expect(attempt).rejects.not.toBeInstanceOf(InvalidTokenError);
    fake.discoveredIssuer = fake.issuer;
    await expect(v.verify(await token())).resolves.toMatchObject({ kind: 'oidc' });
  });

  it('refuses to be configured with a plain-http issuer beyond loopback', () => {
    expect(() => createOidcVerifier({ issuer: 'http://idp.example.com', audience: AUDIENCE })).toThrow(
      /https/
    );
    expect(() =>
      createOidcVerifier({
        issuer: 'https://idp.example.com',
        audience: AUDIENCE,
        jwksUri: 'http://idp.example.com/jwks'
      })
    ).toThrow(/https/);
  });
});
