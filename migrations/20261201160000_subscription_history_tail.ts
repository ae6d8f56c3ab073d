import { sql, type Kysely } from 'kysely';

/**
 * Subscriptions (issue 18): the fan-out tails `resource_history` instead of a
 * separate outbox. The history row is written by the write's own statement
 * anyway (its trigger), so it already is a transactional outbox: committed
 * with the change, gone with a rollback. A row of its own per write (insert,
 * then read and delete by the fan-out, its index, WAL and the vacuum of a
 * queue table) cost creates 17–24 % of their throughput.
 *
 * `subscription_fanout` is the durable cursor (one row): every history row
 * with `seq <= high` has been fanned out, except the gaps: ranges
 * `[gap_lo[i], gap_hi[i]]` of sequence numbers the fan-out found missing
 * below a committed row — taken by a transaction still in progress, or by
 * one that rolled back. `gap_xid[i]` is the fan-out transaction's own id when
 * it found the gap, which is greater than the id of any transaction that can
 * hold it (src/subscriptions/history-cursor.ts); once every transaction up to
 * it has ended (`gap_xid < pg_snapshot_xmin(pg_current_snapshot())`), what
 * is still missing was rolled back and the gap is dropped.
 *
 * The cursor starts where the old outbox still had rows to fan out (so no
 * pending event is lost by the migration), else at the end of history.
 * `subscription_state.first_history_seq` replaces `first_outbox_id`: a
 * subscription receives the versions after the last one written before it.
 *
 * `subscription_stamp` changes whenever the set of active subscriptions may
 * have (a statement-level trigger on whatever sets `active`: every write of a
 * Subscription, and the worker's error), so the fan-out lists them again only
 * then, not at every poll.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE subscription_fanout (
      only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
      high bigint NOT NULL,
      gap_lo bigint[] NOT NULL DEFAULT '{}',
      gap_hi bigint[] NOT NULL DEFAULT '{}',
      gap_xid xid8[] NOT NULL DEFAULT '{}'
    )
  `.execute(db);
  await sql`
    INSERT INTO subscription_fanout (high)
    SELECT coalesce(
      (SELECT min(h.seq) - 1 FROM subscription_outbox o JOIN resource_history h ON h.resource_type = o.resource_type AND h.id = o.resource_id AND h.version_id = o.version_id),
      (SELECT max(seq) FROM resource_history),
      0)
  `.execute(db);
  await sql`ALTER TABLE subscription_state ADD COLUMN first_history_seq bigint NOT NULL DEFAULT 0`.execute(db);
  await sql`ALTER TABLE subscription_state DROP COLUMN first_outbox_id`.execute(db);
  await sql`CREATE TABLE subscription_stamp (only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row), stamp bigint NOT NULL)`.execute(db);
  await sql`INSERT INTO subscription_stamp (stamp) VALUES (0)`.execute(db);
  await sql`
    CREATE FUNCTION subscription_stamp_bump() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE subscription_stamp SET stamp = stamp + 1;
      RETURN NULL;
    END
    $$
  `.execute(db);
  await sql`
    CREATE TRIGGER subscription_stamp_bump AFTER INSERT OR DELETE OR UPDATE OF active, first_history_seq, owner ON subscription_state
    FOR EACH STATEMENT EXECUTE FUNCTION subscription_stamp_bump()
  `.execute(db);
  await sql`DROP FUNCTION subscription_outbox_add(text, text, integer, jsonb, text[])`.execute(db);
  await sql`DROP TABLE subscription_outbox`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE subscription_outbox (
      id bigserial PRIMARY KEY,
      resource_type text NOT NULL,
      resource_id text NOT NULL,
      version_id integer NOT NULL,
      facts jsonb NOT NULL,
      patients text[] NOT NULL,
      created timestamptz NOT NULL DEFAULT now()
    )
  `.execute(db);
  await sql`
    CREATE FUNCTION subscription_outbox_add(t text, i text, v integer, f jsonb, p text[]) RETURNS integer LANGUAGE sql AS $$
      INSERT INTO subscription_outbox (resource_type, resource_id, version_id, facts, patients) VALUES (t, i, v, f, p) RETURNING 1
    $$
  `.execute(db);
  await sql`ALTER TABLE subscription_state ADD COLUMN first_outbox_id bigint NOT NULL DEFAULT 0`.execute(db);
  await sql`ALTER TABLE subscription_state DROP COLUMN first_history_seq`.execute(db);
  await sql`DROP TRIGGER subscription_stamp_bump ON subscription_state`.execute(db);
  await sql`DROP FUNCTION subscription_stamp_bump()`.execute(db);
  await sql`DROP TABLE subscription_stamp`.execute(db);
  await sql`DROP TABLE subscription_fanout`.execute(db);
}
