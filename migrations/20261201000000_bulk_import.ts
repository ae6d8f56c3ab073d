import { sql, type Kysely } from 'kysely';

/**
 * Bulk import jobs (`POST /$import`): one row per kick-off. Unlike exports,
 * an interrupted import is resumed, so the row carries a lease and the exact
 * position reached: `position` (source index, lines done) is updated in the
 * SAME transaction that commits a chunk of resources, together with that
 * chunk's `import_error` rows, so whoever resumes starts at the first line
 * not committed, and no line is imported twice.
 *
 * Lease: `lease_owner` runs the job until `lease_expires_at`; it renews the
 * lease while it works. A job in progress whose lease has expired (the
 * process died) is claimed by any instance and resumed from `position`.
 * `sources`: the NDJSON inputs in order (an uploaded file under
 * DATA_DIR/imports, or a URL from IMPORT_ALLOWED_SOURCES). `actor` keeps the
 * kick-off token's identity: writes are authorised and audited as that caller.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE import_job (
      id uuid PRIMARY KEY,
      status text NOT NULL CHECK (status IN ('in-progress', 'completed', 'failed', 'cancelled')),
      request text NOT NULL,
      owner text NOT NULL,
      actor jsonb NOT NULL,
      base_url text NOT NULL,
      own_base_urls text[] NOT NULL,
      sources jsonb NOT NULL,
      source_index integer NOT NULL DEFAULT 0,
      source_line bigint NOT NULL DEFAULT 0,
      imported bigint NOT NULL DEFAULT 0,
      failed bigint NOT NULL DEFAULT 0,
      counts jsonb NOT NULL DEFAULT '{}',
      lease_owner text,
      lease_expires_at timestamptz NOT NULL DEFAULT now(),
      created_at timestamptz NOT NULL DEFAULT now(),
      transaction_time timestamptz NOT NULL DEFAULT now(),
      completed_at timestamptz,
      error text
    )
  `.execute(db);
  await sql`CREATE INDEX import_job_in_progress ON import_job (lease_expires_at) WHERE status = 'in-progress'`.execute(db);
  await sql`
    CREATE TABLE import_error (
      job_id uuid NOT NULL REFERENCES import_job (id) ON DELETE CASCADE,
      source_index integer NOT NULL,
      line bigint NOT NULL,
      outcome jsonb NOT NULL,
      PRIMARY KEY (job_id, source_index, line)
    )
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS import_error`.execute(db);
  await sql`DROP TABLE IF EXISTS import_job`.execute(db);
}
