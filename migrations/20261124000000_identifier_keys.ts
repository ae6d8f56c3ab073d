import { sql, type Kysely } from 'kysely';

/**
 * Finding a Patient by identifier (`Patient/$summary?identifier=<CURP system>|<CURP>`)
 * and the units (Organizations) of the CLUES that authored a record, without
 * scanning every resource: `resource_identifier_keys(content)` is the list of
 * `system|value` of a resource's identifiers, GIN-indexed for Patients and
 * Organizations only (small write amplification: one index entry per
 * identifier of those two types). The search module's token index may replace
 * it; until then the patient summaries use it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE FUNCTION resource_identifier_keys(content text) RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
      SELECT coalesce(array_agg((i ->> 'system') || '|' || (i ->> 'value')), '{}')
      FROM jsonb_array_elements(
        CASE WHEN jsonb_typeof(content::jsonb -> 'identifier') = 'array' THEN content::jsonb -> 'identifier' ELSE '[]'::jsonb END
      ) AS i
      WHERE jsonb_typeof(i -> 'value') = 'string'
    $$
  `.execute(db);
  await sql`
    CREATE INDEX resource_identifier_keys ON resource USING gin (resource_identifier_keys(content))
    WHERE resource_type IN ('Patient', 'Organization') AND NOT deleted
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX resource_identifier_keys`.execute(db);
  await sql`DROP FUNCTION resource_identifier_keys(text)`.execute(db);
}
