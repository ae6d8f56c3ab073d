import { sql, type Kysely } from 'kysely';

/**
 * State every instance behind the load balancer must share (issue 13), kept
 * in PostgreSQL like the rest:
 * - `cursor_key`: the AES-256-GCM keys that seal paging cursors. The newest
 *   seals, any listed one opens, so a key is rotated by adding a newer one
 *   and removed once cursors sealed with it have expired. The first is created
 *   on first use (INSERT … ON CONFLICT DO NOTHING, so concurrent instances agree).
 * - `rate_limit`: fixed-window request counters per client key (hashed token
 *   issuer+subject, or client address), added to in batches by each instance.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE cursor_key (
      id integer PRIMARY KEY CHECK (id > 0 AND id < 65536),
      key bytea NOT NULL CHECK (length(key) = 32),
      created_at timestamptz NOT NULL DEFAULT now()
    )
  `.execute(db);
  await sql`
    CREATE TABLE rate_limit (
      key text NOT NULL,
      window_start timestamptz NOT NULL,
      hits integer NOT NULL,
      PRIMARY KEY (key, window_start)
    )
  `.execute(db);
  // Old windows are removed by range.
  await sql`CREATE INDEX rate_limit_window ON rate_limit (window_start)`.execute(db);
}
