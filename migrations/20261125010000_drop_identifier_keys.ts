import { sql, type Kysely } from 'kysely';

/**
 * The summaries now find Patients by identifier and units by CLUES through the
 * search index's identifier rows (sp_token), which every write maintains
 * anyway; this expression index parsed each Patient and Organization's JSON
 * a second time on every write for the same answer.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX IF EXISTS resource_identifier_keys`.execute(db);
  await sql`DROP FUNCTION IF EXISTS resource_identifier_keys(text)`.execute(db);
}
