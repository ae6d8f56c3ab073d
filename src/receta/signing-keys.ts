/**
 * The institution's receta signing keys. A JWKS of private keys: the first
 * key signs, every key verifies (keep retired keys, or just their public
 * part, so old signatures stay verifiable). From RECETA_SIGNING_JWKS_FILE in
 * production; in development a generated ES256 key kept in DATA_DIR (mode
 * 0600), like the development token key. Signatures are detached compact JWS
 * (RFC 7515 appendix F) with `kid` in the protected header; the public keys
 * are published as a JWKS.
 */
import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { base64url, CompactSign, compactVerify, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';

export const devSigningAlgorithm = 'ES256';
const privateMembers = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

export interface KeySet {
  keys: JWK[];
}

interface RingKey {
  kid: string;
  alg: string;
  key: CryptoKey | Uint8Array;
}

export interface SigningKeyRing {
  /** The key that signs now (absent when the set holds public keys only: verify-only server). */
  signer?: RingKey;
  verifiers: ReadonlyMap<string, RingKey>;
  /** Public keys, for /.well-known/receta-jwks.json. */
  jwks: KeySet;
}

export function devSigningKeysFile(dataDir: string): string {
  return path.resolve(dataDir, 'receta-signing-keys.json');
}

export async function newSigningKey(alg = devSigningAlgorithm): Promise<JWK> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  return { ...(await exportJWK(privateKey)), kid: randomUUID(), alg, use: 'sig' };
}

/** Reads a key set file; in development creates it (one fresh key) on first use. */
export async function loadKeySetFile(file: string, create: boolean): Promise<KeySet> {
  if (!existsSync(file)) {
    if (!create) {
      throw new Error(`receta signing key file ${file} does not exist`);
    }
    writeKeySetFile(file, { keys: [await newSigningKey()] });
  }
  return JSON.parse(readFileSync(file, 'utf8')) as KeySet;
}

export function writeKeySetFile(file: string, set: KeySet): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(set, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
}

export function publicJwk(jwk: JWK): JWK {
  const out: Record<string, unknown> = { ...jwk };
  for (const member of privateMembers) {
    delete out[member];
  }
  return out as JWK;
}

export async function keyRing(set: KeySet): Promise<SigningKeyRing> {
  const verifiers = new Map<string, RingKey>();
  let signer: RingKey | undefined;
  for (const [index, jwk] of set.keys.entries()) {
    if (!jwk.kid || !jwk.alg) {
      throw new Error(`receta signing key ${index} needs "kid" and "alg"`);
    }
    if (jwk.kty === 'oct') {
      throw new Error(`receta signing key ${jwk.kid}: symmetric keys cannot give verifiable public signatures`);
    }
    if (verifiers.has(jwk.kid)) {
      throw new Error(`receta signing key id ${jwk.kid} is repeated`);
    }
    verifiers.set(jwk.kid, { kid: jwk.kid, alg: jwk.alg, key: await importJWK(publicJwk(jwk), jwk.alg) });
    if (index === 0 && jwk.d !== undefined) {
      signer = { kid: jwk.kid, alg: jwk.alg, key: await importJWK(jwk, jwk.alg) };
    }
  }
  return { signer, verifiers, jwks: { keys: set.keys.map((k) => ({ ...publicJwk(k), use: 'sig' })) } };
}

/** Detached compact JWS over `payload`: `header..signature`. */
export async function signDetached(ring: SigningKeyRing, payload: Uint8Array): Promise<{ jws: string; kid: string }> {
  const signer = ring.signer;
  if (!signer) {
    throw new Error('no receta signing key with a private part is configured');
  }
  const jws = await new CompactSign(payload).setProtectedHeader({ alg: signer.alg, kid: signer.kid }).sign(signer.key);
  const [header, , signature] = jws.split('.');
  return { jws: `${header}..${signature}`, kid: signer.kid };
}

export type Verification = { valid: true; kid: string; alg: string } | { valid: false; kid?: string; reason: { es: string; en: string } };

export async function verifyDetached(ring: SigningKeyRing, jws: string, payload: Uint8Array): Promise<Verification> {
  const [header, detached, signature] = jws.split('.');
  if (header === undefined || signature === undefined || detached !== '') {
    return { valid: false, reason: { es: 'La firma no es un JWS compacto desprendido', en: 'The signature is not a detached compact JWS' } };
  }
  let kid: string | undefined;
  try {
    const parsed = JSON.parse(new TextDecoder().decode(base64url.decode(header))) as { kid?: unknown };
    kid = typeof parsed.kid === 'string' ? parsed.kid : undefined;
  } catch {
    return { valid: false, reason: { es: 'Encabezado JWS ilegible', en: 'Unreadable JWS header' } };
  }
  const key = kid === undefined ? undefined : ring.verifiers.get(kid);
  if (!key) {
    return { valid: false, kid, reason: { es: `Llave de firma desconocida (kid ${kid ?? '—'})`, en: `Unknown signing key (kid ${kid ?? '—'})` } };
  }
  try {
    await compactVerify(`${header}.${base64url.encode(payload)}.${signature}`, key.key, { algorithms: [key.alg] });
    return { valid: true, kid: key.kid, alg: key.alg };
  } catch {
    return { valid: false, kid, reason: { es: 'La firma no corresponde al contenido', en: 'The signature does not match the content' } };
  }
}
