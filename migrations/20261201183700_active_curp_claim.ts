import { sql, type Kysely } from 'kysely';

/**
 * active_curp_claim(): the CURP rule of src/identity/curp-unique-hook.ts as
 * one SQL call, so a Patient write outside a transaction keeps it inside its
 * own single statement (persist.ts) instead of opening a transaction for
 * three more round trips (BEGIN, the claim, COMMIT): issue 21 measured a
 * create Patient at five round trips, each ~0.1–0.3 ms of system time, with
 * the audit lane locked across all of them. Same statements, same order, same
 * guarantee (the primary key; a second writer of a CURP waits for the first
 * to commit, then sees its row). A CURP held by another Patient raises
 * SQLSTATE EC409 with the CURP as DETAIL and the holder's id as HINT; the
 * statement, and with it the write, is rolled back.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE FUNCTION active_curp_claim(p_id text, p_curps text[]) RETURNS int LANGUAGE plpgsql AS $$
    DECLARE
      c text;
      holder text;
    BEGIN
      DELETE FROM active_curp WHERE patient_id = p_id AND NOT (curp = ANY(p_curps));
      FOREACH c IN ARRAY p_curps LOOP
        INSERT INTO active_curp (curp, patient_id) VALUES (c, p_id)
        ON CONFLICT (curp) DO UPDATE SET patient_id = active_curp.patient_id
        RETURNING patient_id INTO holder;
        IF holder <> p_id THEN
          RAISE EXCEPTION 'CURP % belongs to Patient/%', c, holder USING ERRCODE = 'EC409', DETAIL = c, HINT = holder;
        END IF;
      END LOOP;
      RETURN cardinality(p_curps);
    END
    $$
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP FUNCTION IF EXISTS active_curp_claim(text, text[])`.execute(db);
}
