import { sql, type Kysely } from 'kysely';

/**
 * Search indexes: one shared table per search parameter type (HAPI-like),
 * keyed by (resource_type, id) of `resource`. Rows hold the values the
 * parameter's FHIRPath expression extracts from the current version only;
 * every write replaces the resource's rows in the same transaction, and a
 * deleted resource has none. `param` is the search parameter code; composite
 * parameters are stored as their components, named `<code>$<n>`, with `grp`
 * telling which repetition of the base element a value came from so that
 * components can be matched within one repetition.
 *
 * Rows that already exist in `resource` before this migration are indexed by
 * `npm run reindex` (src/search/reindex-cli.ts); a fresh database needs nothing.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const key = sql`resource_type text NOT NULL, id text NOT NULL, param text NOT NULL, grp smallint NOT NULL DEFAULT 0`;
  // string: `value` lower-cased and without accents (normalised in JS), `exact` as written.
  await sql`CREATE TABLE sp_string (${key}, value text NOT NULL, exact text NOT NULL)`.execute(db);
  // token: `text` is the normalised display/text for :text.
  await sql`CREATE TABLE sp_token (${key}, system text, code text, text text)`.execute(db);
  // date: every value is the range [lo, hi] its precision covers (both ends inclusive).
  await sql`CREATE TABLE sp_date (${key}, lo timestamptz NOT NULL, hi timestamptz NOT NULL)`.execute(db);
  await sql`CREATE TABLE sp_number (${key}, value numeric NOT NULL)`.execute(db);
  await sql`CREATE TABLE sp_quantity (${key}, value numeric NOT NULL, system text, code text, unit text)`.execute(db);
  // reference: local targets as (target_type, target_id); absolute ones keep `url` too; "#x" contained ones only `url`.
  await sql`CREATE TABLE sp_reference (${key}, target_type text, target_id text, url text)`.execute(db);
  await sql`CREATE TABLE sp_uri (${key}, value text NOT NULL)`.execute(db);

  // Replacing a resource's rows, and joining index rows back to their resource.
  for (const table of ['sp_string', 'sp_token', 'sp_date', 'sp_number', 'sp_quantity', 'sp_reference', 'sp_uri']) {
    await sql`CREATE INDEX ${sql.id(`${table}_resource`)} ON ${sql.table(table)} (resource_type, id)`.execute(db);
  }
  // The lookups the compiler emits (src/search/compile-*.ts).
  await sql`CREATE INDEX sp_string_value ON sp_string (resource_type, param, value text_pattern_ops)`.execute(db);
  // No index on sp_string.exact nor sp_token.system alone: :exact also pins the normalised value, and
  // `system|` uses the leading columns of sp_token_code; each index costs every write (17 string rows a Patient).
  await sql`CREATE INDEX sp_token_code ON sp_token (resource_type, param, code, system)`.execute(db);
  await sql`CREATE INDEX sp_date_range ON sp_date (resource_type, param, lo, hi)`.execute(db);
  await sql`CREATE INDEX sp_date_hi ON sp_date (resource_type, param, hi)`.execute(db);
  await sql`CREATE INDEX sp_number_value ON sp_number (resource_type, param, value)`.execute(db);
  await sql`CREATE INDEX sp_quantity_value ON sp_quantity (resource_type, param, value)`.execute(db);
  await sql`CREATE INDEX sp_reference_target ON sp_reference (resource_type, param, target_id, target_type)`.execute(db);
  // Reverse direction: _revinclude and _has start from the target.
  await sql`CREATE INDEX sp_reference_reverse ON sp_reference (target_id, target_type, resource_type, param)`.execute(db);
  await sql`CREATE INDEX sp_reference_url ON sp_reference (resource_type, param, url) WHERE url IS NOT NULL`.execute(db);
  await sql`CREATE INDEX sp_uri_value ON sp_uri (resource_type, param, value text_pattern_ops)`.execute(db);
  // Sorting and paging on _lastUpdated without an index table.
  await sql`CREATE INDEX resource_type_last_updated ON resource (resource_type, last_updated, id)`.execute(db);

  await createIndexFunction(db);

  // :contains on strings: trigram index when the server has pg_trgm (the embedded one does), plain LIKE otherwise.
  const trgm = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_available_extensions WHERE name = 'pg_trgm'`.execute(db);
  if ((trgm.rows[0]?.n ?? 0) > 0) {
    await sql`CREATE EXTENSION IF NOT EXISTS pg_trgm`.execute(db);
    await sql`CREATE INDEX sp_string_trgm ON sp_string USING gin (value gin_trgm_ops)`.execute(db);
  }
}

/**
 * Replacing one resource's index rows in one call whose statements are
 * planned once per connection (plpgsql caches them): the same work as one
 * ad-hoc statement of data-modifying CTEs, without planning it on every write.
 * `rows` holds, per table, the rows as JSON objects (see src/search/write-index.ts).
 */
export async function createIndexFunction(db: Kysely<unknown>): Promise<void> {
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
    END
    $$
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['sp_string', 'sp_token', 'sp_date', 'sp_number', 'sp_quantity', 'sp_reference', 'sp_uri']) {
    await sql`DROP TABLE IF EXISTS ${sql.table(table)}`.execute(db);
  }
  await sql`DROP INDEX IF EXISTS resource_type_last_updated`.execute(db);
}
