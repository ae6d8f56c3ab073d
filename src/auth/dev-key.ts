/**
 * The development signing key: lets `npm start` and `npm run token` work
 * without an identity provider. Kept in DATA_DIR (mode 0600) and trusted by
 * the server only when no AUTH_ISSUER is configured.
 */
import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { exportJWK, generateKeyPair, type JWK } from 'jose';

export const devIssuer = 'urn:ecu-fhir:dev';
export const devAlgorithm = 'ES256';

export interface DevKey {
  kid: string;
  privateJwk: JWK;
  publicJwk: JWK;
}

export function devKeyFile(dataDir: string): string {
  return path.resolve(dataDir, 'dev-signing-key.json');
}

/** Reads the development key, creating it on first use. */
export async function loadOrCreateDevKey(file: string): Promise<DevKey> {
  if (existsSync(file)) {
    return JSON.parse(readFileSync(file, 'utf8')) as DevKey;
  }
  const { privateKey, publicKey } = await generateKeyPair(devAlgorithm, { extractable: true });
  const kid = randomUUID();
  const key: DevKey = {
    kid,
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: devAlgorithm, use: 'sig' },
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg: devAlgorithm, use: 'sig' },
  };
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(key), { mode: 0o600 });
  chmodSync(file, 0o600);
  return key;
}
