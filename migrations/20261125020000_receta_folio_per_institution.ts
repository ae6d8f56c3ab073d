import { sql, type Kysely } from 'kysely';

/**
 * Receta folio numbers are unique per institution (IMSS, ISSSTE, …), not per
 * unit: the counter is now kept per institution code (characters 3–5 of the
 * CLUES, e.g. `IMS` in DFIMS000011). Each institution continues above the
 * highest number any of its units had issued, so no number repeats. The folio
 * Identifier keeps naming the issuing unit in its system.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE TABLE receta_folio_institution (institution text PRIMARY KEY, last bigint NOT NULL)`.execute(db);
  await sql`
    INSERT INTO receta_folio_institution (institution, last)
    SELECT substr(clues, 3, 3), max(last) FROM receta_folio_counter GROUP BY substr(clues, 3, 3)
  `.execute(db);
  await sql`DROP TABLE receta_folio_counter`.execute(db);
}
