import { sql, type Kysely } from 'kysely';

/**
 * SMART Backend Services (issue 19), all shared by every instance:
 * - `smart_client`: registered system clients (their keys by URL or inline, the
 *   `system/` scopes and role they may have, the institution's CLUES);
 * - `smart_assertion_jti`: client assertions already used, until they expire,
 *   so a replay is refused whichever instance it reaches;
 * - `auth_server_key`: the one key the token endpoint signs with (a single row,
 *   so concurrent first starts agree on it).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE smart_client (
      client_id text PRIMARY KEY,
      clues text NOT NULL,
      jwks_url text,
      jwks jsonb,
      scope text NOT NULL,
      role text NOT NULL,
      created timestamptz NOT NULL DEFAULT now(),
      CHECK ((jwks_url IS NULL) <> (jwks IS NULL))
    )
  `.execute(db);
  await sql`
    CREATE TABLE smart_assertion_jti (
      client_id text NOT NULL,
      jti text NOT NULL,
      expires timestamptz NOT NULL,
      PRIMARY KEY (client_id, jti)
    )
  `.execute(db);
  await sql`CREATE INDEX smart_assertion_jti_expires ON smart_assertion_jti (expires)`.execute(db);
  await sql`
    CREATE TABLE auth_server_key (
      id integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
      kid text NOT NULL,
      private_jwk jsonb NOT NULL,
      public_jwk jsonb NOT NULL,
      created timestamptz NOT NULL DEFAULT now()
    )
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE auth_server_key`.execute(db);
  await sql`DROP TABLE smart_assertion_jti`.execute(db);
  await sql`DROP TABLE smart_client`.execute(db);
}
