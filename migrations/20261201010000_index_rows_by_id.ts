import { sql, type Kysely } from 'kysely';

/**
 * The index tables' "rows of one resource" index becomes (id, resource_type)
 * instead of (resource_type, id). Same use (replacing a resource's rows,
 * EXISTS probes, sort keys: always both columns), but it no longer serves a
 * condition on resource_type alone. With statistics taken before a type had
 * rows, the planner costed "every index row of the type" as one row and, for
 * `identifier=…`, preferred walking that index (20,000 rows at 10,000
 * Locations) over sp_token_code, which pins param, code and system: now only
 * the selective indexes lead with resource_type. (Issue 21.)
 */
const tables = ['sp_string', 'sp_token', 'sp_date', 'sp_number', 'sp_quantity', 'sp_reference', 'sp_uri'];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const table of tables) {
    await sql`CREATE INDEX ${sql.id(`${table}_by_id`)} ON ${sql.table(table)} (id, resource_type)`.execute(db);
    await sql`DROP INDEX IF EXISTS ${sql.id(`${table}_resource`)}`.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of tables) {
    await sql`CREATE INDEX ${sql.id(`${table}_resource`)} ON ${sql.table(table)} (resource_type, id)`.execute(db);
    await sql`DROP INDEX IF EXISTS ${sql.id(`${table}_by_id`)}`.execute(db);
  }
}
