import { sql, type Kysely } from 'kysely';

/**
 * Combined search parameters (src/search/combo-params.ts, issue 17): one
 * index row per combination of a resource's values of a few parameters a
 * worklist sends together (Task owner + status, requester + status), so such
 * a search reads exactly its matches from one index range. `key` is the
 * components' values joined by `|` (each `\` and `|` escaped), in the "C"
 * collation: keys are compared for equality only. A row may carry the
 * resource's value of a token and a date sort parameter (`code`, `lo`, `hi`;
 * `carried` says whether it does), so a worklist's sort keys come from the
 * same index range.
 * sp_replace() (the write path) now also replaces a resource's sp_combo rows;
 * the rows of resources already stored are filled here, in SQL, for the two
 * combinations defined with this migration.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE TABLE sp_combo (resource_type text NOT NULL, id text NOT NULL, combo text NOT NULL, key text COLLATE "C" NOT NULL, carried boolean NOT NULL, code text, lo timestamptz, hi timestamptz)`.execute(db);
  await sql`CREATE INDEX sp_combo_key ON sp_combo (resource_type, combo, key) INCLUDE (id, carried, code, lo, hi)`.execute(db);
  await sql`CREATE INDEX sp_combo_by_id ON sp_combo (id, resource_type)`.execute(db);
  const escape = (x: string) => sql.raw(`replace(replace(${x}, '\\', '\\\\'), '|', '\\|')`);
  for (const reference of ['owner', 'requester']) {
    // Carried: priority and authored-on, when the Task has at most one of each.
    await sql`
      INSERT INTO sp_combo (resource_type, id, combo, key, carried, code, lo, hi)
      SELECT DISTINCT r.resource_type, r.id, ${`${reference}+status`}, ${escape(`r.target_type || '/' || r.target_id`)} || '|' || ${escape('t.code')},
        p.n <= 1 AND a.n <= 1, CASE WHEN p.n <= 1 AND a.n <= 1 THEN p.code END, CASE WHEN p.n <= 1 AND a.n <= 1 THEN a.lo END, CASE WHEN p.n <= 1 AND a.n <= 1 THEN a.hi END
      FROM sp_reference AS r
      JOIN sp_token AS t ON t.id = r.id AND t.resource_type = r.resource_type AND t.param = 'status' AND t.code IS NOT NULL
      CROSS JOIN LATERAL (SELECT count(*) AS n, min(x.code) AS code FROM sp_token AS x WHERE x.id = r.id AND x.resource_type = r.resource_type AND x.param = 'priority') AS p
      CROSS JOIN LATERAL (SELECT count(*) AS n, min(x.lo) AS lo, min(x.hi) AS hi FROM sp_date AS x WHERE x.id = r.id AND x.resource_type = r.resource_type AND x.param = 'authored-on') AS a
      WHERE r.resource_type = 'Task' AND r.param = ${reference} AND r.url IS NULL AND r.target_type IS NOT NULL AND r.target_id IS NOT NULL
    `.execute(db);
  }
  await replaceFunction(db, true);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await replaceFunction(db, false);
  await sql`DROP TABLE IF EXISTS sp_combo`.execute(db);
}

/** sp_replace() of 20261123010000_search_index, with (or, for down, without) the sp_combo rows. */
async function replaceFunction(db: Kysely<unknown>, combo: boolean): Promise<void> {
  const remove = combo ? sql.raw(`DELETE FROM sp_combo WHERE resource_type = p_type AND id = p_id;`) : sql.raw('');
  const insert = combo
    ? sql.raw(`IF rows ? 'sp_combo' THEN
        INSERT INTO sp_combo (resource_type, id, combo, key, carried, code, lo, hi)
        SELECT p_type, p_id, x.combo, x.key, x.carried, x.code, x.lo, x.hi FROM jsonb_to_recordset(rows->'sp_combo') AS x(combo text, key text, carried boolean, code text, lo timestamptz, hi timestamptz);
      END IF;`)
    : sql.raw('');
  await sql`
    CREATE OR REPLACE FUNCTION sp_replace(p_type text, p_id text, p_had_rows boolean, rows jsonb) RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
      IF p_had_rows THEN
        DELETE FROM sp_string WHERE resource_type = p_type AND id = p_id;
        DELETE FROM sp_token WHERE resource_type = p_type AND id = p_id;
        DELETE FROM sp_date WHERE resource_type = p_type AND id = p_id;
        DELETE FROM sp_number WHERE resource_type = p_type AND id = p_id;
        DELETE FROM sp_quantity WHERE resource_type = p_type AND id = p_id;
        DELETE FROM sp_reference WHERE resource_type = p_type AND id = p_id;
        DELETE FROM sp_uri WHERE resource_type = p_type AND id = p_id;
        ${remove}
      END IF;
      IF rows IS NULL THEN
        RETURN;
      END IF;
      IF rows ? 'sp_string' THEN
        INSERT INTO sp_string (resource_type, id, param, grp, value, exact)
        SELECT p_type, p_id, x.param, x.grp, x.value, x.exact FROM jsonb_to_recordset(rows->'sp_string') AS x(param text, grp smallint, value text, exact text);
      END IF;
      IF rows ? 'sp_token' THEN
        INSERT INTO sp_token (resource_type, id, param, grp, system, code, text)
        SELECT p_type, p_id, x.param, x.grp, x.system, x.code, x.text FROM jsonb_to_recordset(rows->'sp_token') AS x(param text, grp smallint, system text, code text, text text);
      END IF;
      IF rows ? 'sp_date' THEN
        INSERT INTO sp_date (resource_type, id, param, grp, lo, hi)
        SELECT p_type, p_id, x.param, x.grp, x.lo, x.hi FROM jsonb_to_recordset(rows->'sp_date') AS x(param text, grp smallint, lo timestamptz, hi timestamptz);
      END IF;
      IF rows ? 'sp_number' THEN
        INSERT INTO sp_number (resource_type, id, param, grp, value)
        SELECT p_type, p_id, x.param, x.grp, x.value FROM jsonb_to_recordset(rows->'sp_number') AS x(param text, grp smallint, value numeric);
      END IF;
      IF rows ? 'sp_quantity' THEN
        INSERT INTO sp_quantity (resource_type, id, param, grp, value, system, code, unit)
        SELECT p_type, p_id, x.param, x.grp, x.value, x.system, x.code, x.unit FROM jsonb_to_recordset(rows->'sp_quantity') AS x(param text, grp smallint, value numeric, system text, code text, unit text);
      END IF;
      IF rows ? 'sp_reference' THEN
        INSERT INTO sp_reference (resource_type, id, param, grp, target_type, target_id, url)
        SELECT p_type, p_id, x.param, x.grp, x.target_type, x.target_id, x.url FROM jsonb_to_recordset(rows->'sp_reference') AS x(param text, grp smallint, target_type text, target_id text, url text);
      END IF;
      IF rows ? 'sp_uri' THEN
        INSERT INTO sp_uri (resource_type, id, param, grp, value)
        SELECT p_type, p_id, x.param, x.grp, x.value FROM jsonb_to_recordset(rows->'sp_uri') AS x(param text, grp smallint, value text);
      END IF;
      ${insert}
    END
    $$
  `.execute(db);
}
