/**
 * Bearer token verification with jose: signature against the configured key
 * set, `exp`, `nbf`, `iss` and `aud`. Deployments point AUTH_JWKS_URL at their
 * identity provider, or give a JWKS file or PEM public key when they have none.
 */
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, createRemoteJWKSet, importSPKI, jwtVerify, type JSONWebKeySet, type JWTPayload, type JWTVerifyGetKey } from 'jose';

type PublicKey = Awaited<ReturnType<typeof importSPKI>>;
import { devIssuer, loadOrCreateDevKey } from './dev-key.ts';

export interface AuthSettings {
  /** Expected `iss`. Absent: development mode, trusting the development key in `devKeyFile`. */
  issuer?: string;
  audience: string;
  jwksUrl?: string;
  jwksFile?: string;
  /** A JWKS given inline (tests, or configuration systems that pass JSON). */
  jwks?: JSONWebKeySet;
  publicKeyPem?: string;
  /** Algorithm of `publicKeyPem` (default RS256). */
  publicKeyAlg?: string;
  devKeyFile?: string;
}

export type TokenVerifier = (token: string) => Promise<JWTPayload>;

async function keySource(settings: AuthSettings): Promise<{ issuer: string; key: JWTVerifyGetKey | PublicKey }> {
  if (!settings.issuer) {
    if (!settings.devKeyFile) {
      throw new Error('AUTH_ISSUER is not set and there is no development key file');
    }
    const dev = await loadOrCreateDevKey(settings.devKeyFile);
    return { issuer: devIssuer, key: createLocalJWKSet({ keys: [dev.publicJwk] }) };
  }
  if (settings.jwks) {
    return { issuer: settings.issuer, key: createLocalJWKSet(settings.jwks) };
  }
  if (settings.jwksFile) {
    return { issuer: settings.issuer, key: createLocalJWKSet(JSON.parse(readFileSync(settings.jwksFile, 'utf8')) as JSONWebKeySet) };
  }
  if (settings.jwksUrl) {
    return { issuer: settings.issuer, key: createRemoteJWKSet(new URL(settings.jwksUrl)) };
  }
  if (settings.publicKeyPem) {
    return { issuer: settings.issuer, key: await importSPKI(settings.publicKeyPem, settings.publicKeyAlg ?? 'RS256') };
  }
  throw new Error('AUTH_ISSUER is set but no key is configured: set AUTH_JWKS_URL, AUTH_JWKS_FILE or AUTH_PUBLIC_KEY');
}

const cacheSize = 10_000;
/** Seconds of clock skew allowed on `exp`/`nbf`, by the verifiers and by the cache in front of them alike. */
export const clockTolerance = 5;

/** The verifier for AUTH_ISSUER's (or the development key's) tokens. app.ts wraps it, with the built-in authorization server's, in `rememberVerified`. */
export async function createTokenVerifier(settings: AuthSettings): Promise<TokenVerifier> {
  const { issuer, key } = await keySource(settings);
  const options = { issuer, audience: settings.audience, clockTolerance, requiredClaims: ['exp', 'sub'] };
  return async (token) => (typeof key === 'function' ? await jwtVerify(token, key, options) : await jwtVerify(token, key, options)).payload;
}

/**
 * A verifier that remembers tokens it has already verified until they expire:
 * a signature check costs ~0.15 ms of CPU, which at thousands of requests per
 * second from the same few clients is most of a core, and even deciding which
 * issuer's key to check against means decoding the token. Keyed on the exact
 * token text, so only the very token that was verified is ever answered from
 * memory; `exp` and `nbf` are still checked on every use (a cached entry is
 * never older than its token), and a refused token is never remembered.
 */
export function rememberVerified(verify: TokenVerifier): TokenVerifier {
  const verified = new Map<string, JWTPayload>();
  return async (token) => {
    const cached = verified.get(token);
    const now = Date.now() / 1000;
    if (cached && (cached.exp ?? 0) + clockTolerance > now && (cached.nbf ?? 0) - clockTolerance <= now) {
      return cached;
    }
    verified.delete(token);
    const payload = await verify(token);
    if (verified.size >= cacheSize) {
      // Oldest first: Map iteration follows insertion order.
      verified.delete(verified.keys().next().value ?? '');
    }
    verified.set(token, payload);
    return payload;
  };
}
