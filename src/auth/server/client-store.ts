/** The client registry, the assertion replay store and the server's signing key, in PostgreSQL (shared by all instances). */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { exportJWK, generateKeyPair, type JSONWebKeySet, type JWK } from 'jose';
import type { Database } from '../../store/database.ts';
import type { Role } from '../roles.ts';
import type { ClientRegistration } from './client-registration.ts';

type Db = Kysely<Database>;

export async function saveClient(db: Db, c: ClientRegistration): Promise<void> {
  await sql`
    INSERT INTO smart_client (client_id, clues, jwks_url, jwks, scope, role)
    VALUES (${c.clientId}, ${c.clues}, ${c.jwksUrl ?? null}, ${c.jwks ? JSON.stringify(c.jwks) : null}::jsonb, ${c.scope}, ${c.role})
    ON CONFLICT (client_id) DO UPDATE SET clues = EXCLUDED.clues, jwks_url = EXCLUDED.jwks_url, jwks = EXCLUDED.jwks, scope = EXCLUDED.scope, role = EXCLUDED.role
  `.execute(db);
}

export async function findClient(db: Db, clientId: string): Promise<ClientRegistration | undefined> {
  const { rows } = await sql<{ client_id: string; clues: string; jwks_url: string | null; jwks: JSONWebKeySet | null; scope: string; role: Role }>`
    SELECT client_id, clues, jwks_url, jwks, scope, role FROM smart_client WHERE client_id = ${clientId}
  `.execute(db);
  const r = rows[0];
  return r ? { clientId: r.client_id, clues: r.clues, ...(r.jwks_url ? { jwksUrl: r.jwks_url } : {}), ...(r.jwks ? { jwks: r.jwks } : {}), scope: r.scope, role: r.role } : undefined;
}

export async function listClients(db: Db): Promise<ClientRegistration[]> {
  const { rows } = await sql<{ client_id: string }>`SELECT client_id FROM smart_client ORDER BY client_id`.execute(db);
  const out: ClientRegistration[] = [];
  for (const r of rows) {
    const c = await findClient(db, r.client_id);
    if (c) out.push(c);
  }
  return out;
}

/**
 * Records an assertion's `jti` until the assertion expires; false when it was
 * already used. The primary key decides, so two instances racing on the same
 * assertion cannot both accept it. Expired rows are purged on the way.
 */
export async function useJti(db: Db, clientId: string, jti: string, expires: Date): Promise<boolean> {
  await sql`DELETE FROM smart_assertion_jti WHERE expires < now() - interval '1 minute'`.execute(db);
  const result = await sql`INSERT INTO smart_assertion_jti (client_id, jti, expires) VALUES (${clientId}, ${jti}, ${expires}) ON CONFLICT DO NOTHING`.execute(db);
  return Number(result.numAffectedRows ?? 0) === 1;
}

export interface ServerKey {
  kid: string;
  privateJwk: JWK;
  publicJwk: JWK;
}

export const serverKeyAlg = 'ES384';

/** The token endpoint's signing key: created by the first instance to start, read by every other. */
export async function loadOrCreateServerKey(db: Db): Promise<ServerKey> {
  const { privateKey, publicKey } = await generateKeyPair(serverKeyAlg, { extractable: true });
  const kid = randomUUID();
  const candidate: ServerKey = {
    kid,
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: serverKeyAlg, use: 'sig' },
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg: serverKeyAlg, use: 'sig' },
  };
  await sql`INSERT INTO auth_server_key (id, kid, private_jwk, public_jwk) VALUES (1, ${kid}, ${JSON.stringify(candidate.privateJwk)}::jsonb, ${JSON.stringify(candidate.publicJwk)}::jsonb) ON CONFLICT (id) DO NOTHING`.execute(db);
  const { rows } = await sql<{ kid: string; private_jwk: JWK; public_jwk: JWK }>`SELECT kid, private_jwk, public_jwk FROM auth_server_key WHERE id = 1`.execute(db);
  const row = rows[0];
  if (!row) throw new Error('auth_server_key is empty after insert');
  return { kid: row.kid, privateJwk: row.private_jwk, publicJwk: row.public_jwk };
}
