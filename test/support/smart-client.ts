/** A SMART Backend Services client for tests: its own key pair, registered through the admin endpoint, and signed assertions. */
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { expect } from 'vitest';
import type { TestApp } from './app.ts';

export interface SmartClient {
  clientId: string;
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function newClientKey(alg: 'ES384' | 'RS384' | 'ES256' = 'ES384', kid = randomUUID()): Promise<Omit<SmartClient, 'clientId'>> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg } };
}

/** Registers a client (inline JWKS) and returns it. */
export async function registerClient(t: TestApp, options: { scope?: string; role?: string; alg?: 'ES384' | 'RS384'; clues?: string } = {}): Promise<SmartClient> {
  const key = await newClientKey(options.alg ?? 'ES384');
  const clientId = `client-${randomUUID()}`;
  const res = await t.request({
    method: 'POST',
    url: '/auth/clients',
    payload: { clientId, clues: options.clues ?? 'DFIST000123', jwks: { keys: [key.publicJwk] }, scope: options.scope ?? 'system/*.rs', role: options.role ?? 'institution' },
  });
  expect(res.statusCode, res.body).toBe(201);
  return { clientId, ...key };
}

export async function tokenEndpoint(t: TestApp): Promise<string> {
  const res = await t.request({ method: 'GET', url: '/.well-known/smart-configuration', token: null });
  return (res.json() as { token_endpoint: string }).token_endpoint;
}

export interface AssertionOptions {
  aud?: string;
  /** Seconds from now (default 240). */
  expiresIn?: number;
  jti?: string;
  kid?: string;
  alg?: string;
  key?: CryptoKey | Uint8Array;
  iss?: string;
  /** Default: the same as `iss`. */
  sub?: string;
}

export function assertion(client: SmartClient, aud: string, o: AssertionOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: o.alg ?? client.alg, kid: o.kid ?? client.kid, typ: 'JWT' })
    .setIssuer(o.iss ?? client.clientId)
    .setSubject(o.sub ?? o.iss ?? client.clientId)
    .setAudience(o.aud ?? aud)
    .setJti(o.jti ?? randomUUID())
    .setExpirationTime(now + (o.expiresIn ?? 240))
    .sign(o.key ?? client.privateKey);
}

export function tokenForm(clientAssertion: string, scope = 'system/*.rs', extra: Record<string, string> = {}): string {
  return new URLSearchParams({
    grant_type: 'client_credentials',
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: clientAssertion,
    scope,
    ...extra,
  }).toString();
}

export const formHeaders = { 'content-type': 'application/x-www-form-urlencoded' };
