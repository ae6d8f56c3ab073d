import { sql, type Kysely } from 'kysely';

/**
 * Subscriptions (issue 18).
 * - `subscription_outbox`: one row per written version, inserted by the
 *   write's own statement (src/subscriptions/outbox.ts), so a committed change
 *   always has its event and a rolled-back one never does. Rows are deleted
 *   once fanned out to the subscriptions they match.
 * - `subscription_state`: the server's side of each Subscription resource: the
 *   owner's access at creation, the signing secret, the gap-free event counter
 *   (incremented under the row's lock at fan-out, so every instance shares it),
 *   the delivery lease and the retry schedule.
 * - `subscription_event`: each event of a subscription, numbered; kept after
 *   delivery for `$events` replay.
 * - `subscription_attempt`: every delivery attempt, for `$status`.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
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
  await sql`
    CREATE TABLE subscription_state (
      subscription_id text PRIMARY KEY,
      owner jsonb NOT NULL,
      secret text,
      active boolean NOT NULL DEFAULT true,
      events_since_start bigint NOT NULL DEFAULT 0,
      delivered_through bigint NOT NULL DEFAULT 0,
      lease_until timestamptz,
      lease_owner text,
      next_attempt timestamptz NOT NULL DEFAULT now(),
      failing_since timestamptz,
      failures integer NOT NULL DEFAULT 0,
      error text,
      first_outbox_id bigint NOT NULL DEFAULT 0,
      base_url text NOT NULL,
      created timestamptz NOT NULL DEFAULT now()
    )
  `.execute(db);
  await sql`
    CREATE TABLE subscription_event (
      subscription_id text NOT NULL REFERENCES subscription_state ON DELETE CASCADE,
      event_number bigint NOT NULL,
      resource_type text NOT NULL,
      resource_id text NOT NULL,
      version_id integer NOT NULL,
      topic text NOT NULL,
      created timestamptz NOT NULL,
      delivered timestamptz,
      PRIMARY KEY (subscription_id, event_number)
    )
  `.execute(db);
  await sql`
    CREATE TABLE subscription_attempt (
      id bigserial PRIMARY KEY,
      subscription_id text NOT NULL REFERENCES subscription_state ON DELETE CASCADE,
      event_number bigint NOT NULL,
      attempted timestamptz NOT NULL,
      outcome text NOT NULL,
      http_status integer,
      detail text,
      instance text NOT NULL
    )
  `.execute(db);
  await sql`CREATE INDEX subscription_attempt_by_subscription ON subscription_attempt (subscription_id, id)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS subscription_attempt`.execute(db);
  await sql`DROP TABLE IF EXISTS subscription_event`.execute(db);
  await sql`DROP TABLE IF EXISTS subscription_state`.execute(db);
  await sql`DROP FUNCTION IF EXISTS subscription_outbox_add(text, text, integer, jsonb, text[])`.execute(db);
  await sql`DROP TABLE IF EXISTS subscription_outbox`.execute(db);
}
