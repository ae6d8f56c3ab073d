import { sql, type Kysely } from 'kysely';

/**
 * One active Patient per CURP (Expediente Clínico Único: a person has one
 * record). `active_curp` holds the CURP of every Patient that is not
 * `active: false` and not deleted; the primary key is the guarantee, so it
 * holds between several server instances and concurrent transactions: the
 * second writer waits for the first and then sees its row. The table is kept
 * in each Patient write's own transaction (src/identity/curp-unique-hook.ts).
 * Existing data is copied in; where two active Patients already share a CURP
 * the older one keeps it (the other is refused on its next write).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE TABLE active_curp (curp text PRIMARY KEY, patient_id text NOT NULL)`.execute(db);
  await sql`CREATE INDEX active_curp_patient ON active_curp (patient_id)`.execute(db);
  await sql`
    INSERT INTO active_curp (curp, patient_id)
    SELECT DISTINCT ON (curp) curp, id FROM (
      SELECT upper(btrim(i ->> 'value')) AS curp, r.id, r.last_updated
      FROM resource r, jsonb_array_elements(CASE WHEN jsonb_typeof(r.content::jsonb -> 'identifier') = 'array' THEN r.content::jsonb -> 'identifier' ELSE '[]'::jsonb END) AS i
      WHERE r.resource_type = 'Patient' AND NOT r.deleted AND coalesce(r.content::jsonb -> 'active', 'true'::jsonb) <> 'false'::jsonb
        AND i ->> 'system' = 'urn:oid:2.16.840.1.113883.4.629' AND coalesce(btrim(i ->> 'value'), '') <> ''
    ) AS found
    ORDER BY curp, last_updated
    ON CONFLICT DO NOTHING
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE active_curp`.execute(db);
}
