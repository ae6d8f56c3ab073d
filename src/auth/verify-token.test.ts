import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type JWK } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { createTokenVerifier, rememberVerified } from './verify-token.ts';

// The three ways a deployment names the issuer's keys (AUTH_JWKS_FILE, AUTH_PUBLIC_KEY, AUTH_JWKS_URL).
const issuer = 'https://idp.example.mx';
const audience = 'ecu-fhir';
let dir: string;
let server: Server;
let jwksUrl: string;
let es256: Awaited<ReturnType<typeof generateKeyPair>>;
let rs256: Awaited<ReturnType<typeof generateKeyPair>>;
let jwk: JWK;

function token(key: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'], alg: string, claims: { aud?: string; kid?: string } = {}): Promise<string> {
  return new SignJWT({ role: 'clinician' })
    .setProtectedHeader({ alg, ...(claims.kid ? { kid: claims.kid } : {}) })
    .setIssuer(issuer)
    .setAudience(claims.aud ?? audience)
    .setSubject('dra-lopez')
    .setExpirationTime('5m')
    .sign(key);
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'ecu-keys-'));
  es256 = await generateKeyPair('ES256');
  rs256 = await generateKeyPair('RS256');
  jwk = { ...(await exportJWK(es256.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  server = createServer((req, res) => {
    res.writeHead(req.url === '/jwks' ? 200 : 404, { 'content-type': 'application/json' });
    res.end(req.url === '/jwks' ? JSON.stringify({ keys: [jwk] }) : '{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  jwksUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/jwks`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

describe('createTokenVerifier key sources', () => {
  test('a local JWKS file: its key verifies, a wrong audience or another key does not', async () => {
    const file = path.join(dir, 'jwks.json');
    await writeFile(file, JSON.stringify({ keys: [jwk] }));
    const verify = await createTokenVerifier({ issuer, audience, jwksFile: file });
    expect((await verify(await token(es256.privateKey, 'ES256', { kid: 'k1' }))).sub).toBe('dra-lopez');
    await expect(verify(await token(es256.privateKey, 'ES256', { kid: 'k1', aud: 'otro' }))).rejects.toThrow();
    const stranger = await generateKeyPair('ES256');
    await expect(verify(await token(stranger.privateKey, 'ES256', { kid: 'k1' }))).rejects.toThrow();
  });

  test('a PEM public key (RS256): its key verifies, another does not', async () => {
    const verify = await createTokenVerifier({ issuer, audience, publicKeyPem: await exportSPKI(rs256.publicKey), publicKeyAlg: 'RS256' });
    expect((await verify(await token(rs256.privateKey, 'RS256'))).sub).toBe('dra-lopez');
    const stranger = await generateKeyPair('RS256');
    await expect(verify(await token(stranger.privateKey, 'RS256'))).rejects.toThrow();
  });

  test('a JWKS URL (the identity provider): keys fetched from it verify; an unknown kid does not', async () => {
    const verify = await createTokenVerifier({ issuer, audience, jwksUrl });
    expect((await verify(await token(es256.privateKey, 'ES256', { kid: 'k1' }))).sub).toBe('dra-lopez');
    await expect(verify(await token(es256.privateKey, 'ES256', { kid: 'k2' }))).rejects.toThrow();
  });

  test('an issuer with no key configured is refused at start-up, not on the first request', async () => {
    await expect(createTokenVerifier({ issuer, audience })).rejects.toThrow(/AUTH_JWKS_URL, AUTH_JWKS_FILE or AUTH_PUBLIC_KEY/);
  });
});

describe('rememberVerified', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  const counting = (claims: Record<string, unknown>) => {
    const seen: string[] = [];
    const verify = rememberVerified(async (t) => {
      seen.push(t);
      if (t === 'refused') throw new Error('bad signature');
      return { ...claims, sub: t };
    });
    return { verify, seen };
  };

  test('a token verified once is answered from memory, another token is verified on its own', async () => {
    const now = Math.floor(Date.now() / 1000);
    const { verify, seen } = counting({ exp: now + 60 });
    const first = await verify('a');
    expect(await verify('a')).toBe(first);
    expect((await verify('b')).sub).toBe('b');
    expect(seen).toEqual(['a', 'b']);
  });

  test('an expired token is verified again (and refused by the inner verifier), never answered from memory', async () => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2026-12-01T12:00:00Z'));
    const now = Math.floor(Date.now() / 1000);
    const seen: string[] = [];
    const verify = rememberVerified(async (t) => {
      seen.push(t);
      if (Date.now() / 1000 > now + 30) throw new Error('expired');
      return { sub: 'x', exp: now + 30 };
    });
    await verify('t');
    await verify('t');
    expect(seen).toHaveLength(1);
    vi.setSystemTime(new Date((now + 36) * 1000));
    await expect(verify('t')).rejects.toThrow('expired');
    expect(seen).toHaveLength(2);
  });

  test('a token not yet valid (nbf) is not answered from memory before its time', async () => {
    const now = Math.floor(Date.now() / 1000);
    const { verify, seen } = counting({ exp: now + 600, nbf: now + 300 });
    await verify('early');
    await verify('early');
    expect(seen).toEqual(['early', 'early']);
  });

  test('a refused token is not remembered', async () => {
    const { verify, seen } = counting({ exp: Math.floor(Date.now() / 1000) + 60 });
    await expect(verify('refused')).rejects.toThrow();
    await expect(verify('refused')).rejects.toThrow();
    expect(seen).toEqual(['refused', 'refused']);
  });
});
