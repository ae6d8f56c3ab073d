import { sql, type Kysely } from 'kysely';

/**
 * Subscriptions (issue 18), handshake and heartbeat (Backport IG):
 * - `handshake_pending`: the subscription was created or (re)activated and
 *   its endpoint has not yet answered the handshake; nothing else is sent to
 *   it before (its events wait, numbered).
 * - `heartbeat_seconds` (`backport-heartbeat-period`) and `last_sent`: a
 *   heartbeat is due when nothing was sent for that long; the delivery lease
 *   of the row makes one instance send it.
 * - `subscription_attempt.kind`: what the attempt sent (handshake, heartbeat
 *   or event-notification), for `$status`.
 * - `subscription_event_pending`: the undelivered events only, so finding
 *   who has something to deliver costs the same after a million delivered
 *   events as after none (the claim asks it at every poll of every instance).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE subscription_state
      ADD COLUMN handshake_pending boolean NOT NULL DEFAULT false,
      ADD COLUMN heartbeat_seconds integer,
      ADD COLUMN last_sent timestamptz NOT NULL DEFAULT now()
  `.execute(db);
  await sql`ALTER TABLE subscription_attempt ADD COLUMN kind text NOT NULL DEFAULT 'event-notification'`.execute(db);
  await sql`CREATE INDEX subscription_event_pending ON subscription_event (subscription_id, event_number) WHERE delivered IS NULL`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX IF EXISTS subscription_event_pending`.execute(db);
  await sql`ALTER TABLE subscription_attempt DROP COLUMN kind`.execute(db);
  await sql`ALTER TABLE subscription_state DROP COLUMN handshake_pending, DROP COLUMN heartbeat_seconds, DROP COLUMN last_sent`.execute(db);
}
