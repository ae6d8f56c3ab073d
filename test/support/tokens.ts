/** A test identity provider: one signing key per run, and tokens minted with any claims a test needs. */
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import type { AuthSettings } from '../../src/auth/verify-token.ts';

export const testIssuer = 'https://idp.test.ecu';
export const testAudience = 'ecu-fhir';

const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
const kid = 'test-key-1';

export const testAuth: AuthSettings = {
  issuer: testIssuer,
  audience: testAudience,
  jwks: { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }] },
};

export interface TokenOptions {
  claims?: JWTPayload;
  sub?: string;
  issuer?: string;
  audience?: string;
  /** Seconds from now; negative for an expired token. */
  expiresIn?: number;
  notBefore?: number;
  key?: Parameters<SignJWT['sign']>[0];
}

export async function mintToken(options: TokenOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT(options.claims ?? {})
    .setProtectedHeader({ alg: 'ES256', kid })
    .setIssuer(options.issuer ?? testIssuer)
    .setAudience(options.audience ?? testAudience)
    .setSubject(options.sub ?? 'tester')
    .setIssuedAt(now)
    .setExpirationTime(now + (options.expiresIn ?? 3600));
  if (options.notBefore !== undefined) {
    jwt.setNotBefore(now + options.notBefore);
  }
  return jwt.sign(options.key ?? privateKey);
}

/** A token for a role; extra claims (scope, patient, clues) as given. */
export function roleToken(role: string, claims: JWTPayload = {}, sub = `${role}-1`): Promise<string> {
  return mintToken({ claims: { role, ...claims }, sub });
}

/** What tests use when they are not about access control: full access. */
export const adminToken = await roleToken('admin', { clues: 'DFIMS000011' }, 'admin-tests');
