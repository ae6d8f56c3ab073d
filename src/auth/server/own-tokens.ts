/** How the rest of the server trusts the authorization server's own tokens, and the CLIENTS_FILE registry seed. */
import { readFile } from 'node:fs/promises';
import type { Kysely } from 'kysely';
import { createLocalJWKSet, decodeJwt, jwtVerify, type JWK } from 'jose';
import type { Database } from '../../store/database.ts';
import { clockTolerance, type TokenVerifier } from '../verify-token.ts';
import { parseRegistration } from './client-registration.ts';
import { saveClient } from './client-store.ts';

/** `iss` of the tokens issued here: stable across instances (FHIR_BASE_URL's origin when there is one). */
export function authServerIssuer(publicBaseUrl: string | undefined): string {
  return publicBaseUrl ? `${new URL(publicBaseUrl).origin}/auth` : 'urn:ecu-fhir:auth';
}

/** A verifier that checks tokens naming this server as issuer against its own key, and hands every other to `base`. */
export function withOwnTokens(base: TokenVerifier, own: { issuer: string; audience: string; publicJwk: JWK }): TokenVerifier {
  const keys = createLocalJWKSet({ keys: [own.publicJwk] });
  const options = { issuer: own.issuer, audience: own.audience, clockTolerance, requiredClaims: ['exp', 'sub'], algorithms: [String(own.publicJwk.alg)] };
  return async (token) => {
    let iss: unknown;
    try {
      iss = decodeJwt(token).iss;
    } catch {
      return base(token);
    }
    if (iss !== own.issuer) return base(token);
    return (await jwtVerify(token, keys, options)).payload;
  };
}

/** CLIENTS_FILE: a JSON array of registrations (as POST /auth/clients takes), stored at start-up; a bad entry stops the start. */
export async function loadClientsFile(db: Kysely<Database>, file: string): Promise<number> {
  const entries: unknown = JSON.parse(await readFile(file, 'utf8'));
  if (!Array.isArray(entries)) throw new Error(`CLIENTS_FILE ${file} must hold a JSON array of client registrations`);
  const clients = entries.map((e, i) => {
    try {
      return parseRegistration(e);
    } catch (err) {
      throw new Error(`CLIENTS_FILE ${file}, entry ${i}: ${err instanceof Error ? err.message : String(err)}`);
    }
  });
  for (const c of clients) await saveClient(db, c);
  return clients.length;
}
