import { sql, type Kysely } from 'kysely';

/**
 * Productivity statistics (src/measures) read, for each Encounter of a week,
 * a few of its index rows by (resource_type, id, param): status, class,
 * serviceType, serviceProvider. With the resource key alone every one of those
 * lookups also fetches the table page (random reads: ~20,000 Encounters a week
 * nationally, four rows each). These indexes REPLACE the per-resource ones
 * (20261201010000_index_rows_by_id) with the same leading columns, so a write
 * maintains as many indexes as before, and the lookups are index-only:
 * - sp_token, sp_reference: (id, resource_type, param) INCLUDE the value columns.
 *   `id` leads, not `resource_type`: an index that serves a condition on the
 *   type alone is the one a planner with stale statistics walks instead of the
 *   selective code/target index (issue 21);
 * - sp_date_range gains `id` as an included column, so a week's rows come from the index.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX sp_token_by_id_param ON sp_token (id, resource_type, param) INCLUDE (system, code)`.execute(db);
  await sql`DROP INDEX IF EXISTS sp_token_by_id`.execute(db);
  await sql`CREATE INDEX sp_reference_by_id_param ON sp_reference (id, resource_type, param) INCLUDE (target_type, target_id)`.execute(db);
  await sql`DROP INDEX IF EXISTS sp_reference_by_id`.execute(db);
  await sql`CREATE INDEX sp_date_range_id ON sp_date (resource_type, param, lo, hi) INCLUDE (id)`.execute(db);
  await sql`DROP INDEX IF EXISTS sp_date_range`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX IF NOT EXISTS sp_token_by_id ON sp_token (id, resource_type)`.execute(db);
  await sql`DROP INDEX IF EXISTS sp_token_by_id_param`.execute(db);
  await sql`CREATE INDEX IF NOT EXISTS sp_reference_by_id ON sp_reference (id, resource_type)`.execute(db);
  await sql`DROP INDEX IF EXISTS sp_reference_by_id_param`.execute(db);
  await sql`CREATE INDEX IF NOT EXISTS sp_date_range ON sp_date (resource_type, param, lo, hi)`.execute(db);
  await sql`DROP INDEX IF EXISTS sp_date_range_id`.execute(db);
}
