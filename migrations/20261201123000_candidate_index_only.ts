import { sql, type Kysely } from 'kysely';

/**
 * A driven search reads its candidates' ids and sort keys from the index
 * tables before it touches `resource` (src/search/compile-candidates.ts,
 * issue 17). Two of those reads still fetched a table page per row:
 * - the driver of a reference search (`owner=Organization/x`: ~850 Tasks a
 *   receiving unit) needs `id` and `url` from sp_reference_target's rows;
 * - a date sort key (`_sort=authored-on`, `-date`) reads `lo`/`hi` by the
 *   resource's id, which sp_date_by_id did not hold;
 * - a reference read by the resource's id (a reference filter that is not the
 *   driver, `_include`) checks `url IS NULL` (local targets only), which
 *   sp_reference_by_id_param did not hold.
 * Each index is REPLACED by ones with the same leading columns plus those
 * columns, so a write maintains as many indexes as before and the reads are
 * index-only (20261201020000_measure_index_only did the same for sp_token and
 * sp_reference by id).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX sp_reference_target_ids ON sp_reference (resource_type, param, target_id, target_type) INCLUDE (id, url)`.execute(db);
  await sql`DROP INDEX IF EXISTS sp_reference_target`.execute(db);
  await sql`CREATE INDEX sp_date_by_id_param ON sp_date (id, resource_type, param) INCLUDE (lo, hi)`.execute(db);
  await sql`DROP INDEX IF EXISTS sp_date_by_id`.execute(db);
  await sql`CREATE INDEX sp_reference_by_id_param_url ON sp_reference (id, resource_type, param) INCLUDE (target_type, target_id, url)`.execute(db);
  await sql`DROP INDEX IF EXISTS sp_reference_by_id_param`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX IF NOT EXISTS sp_reference_target ON sp_reference (resource_type, param, target_id, target_type)`.execute(db);
  await sql`DROP INDEX IF EXISTS sp_reference_target_ids`.execute(db);
  await sql`CREATE INDEX IF NOT EXISTS sp_date_by_id ON sp_date (id, resource_type)`.execute(db);
  await sql`DROP INDEX IF EXISTS sp_date_by_id_param`.execute(db);
  await sql`CREATE INDEX IF NOT EXISTS sp_reference_by_id_param ON sp_reference (id, resource_type, param) INCLUDE (target_type, target_id)`.execute(db);
  await sql`DROP INDEX IF EXISTS sp_reference_by_id_param_url`.execute(db);
}
