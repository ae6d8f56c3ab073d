import { sql, type Kysely } from 'kysely';

/**
 * The instant up to which history is complete: every version with a
 * lastUpdated before it is already committed and visible. Versions take their
 * lastUpdated before their transaction commits, so a slow transaction can make
 * an older-stamped version appear after a reader looked; the point is set
 * before the start of the oldest transaction still writing, less a margin for
 * the application stamping versions slightly before its statement starts.
 * A peer that mirrors with `_since=<previous Bundle.meta.lastUpdated>` misses
 * nothing (and sees a few seconds twice, which version ids make harmless).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE FUNCTION history_sync_point() RETURNS timestamptz LANGUAGE sql STABLE AS $$
      SELECT least(now(), coalesce(min(xact_start), now())) - interval '5 seconds'
      FROM pg_stat_activity
      WHERE datname = current_database() AND backend_xid IS NOT NULL
    $$
  `.execute(db);
}
