import { sql, type Kysely } from 'kysely';

/**
 * Bulk Data export jobs (https://hl7.org/fhir/uv/bulkdata/export.html): one
 * row per kick-off, so a job's status survives a restart of the server. The
 * NDJSON files live on disk (DATA_DIR/exports/<id>/); the row lists them in
 * `output` once the job completes.
 *
 * `status`: in-progress → completed | failed | cancelled. `heartbeat_at` is
 * refreshed by the process running the job; a job in progress whose heartbeat
 * is stale was interrupted (crash or restart) and is reported as failed:
 * interrupted jobs are not resumed, the client kicks off a new export.
 * `owner` is the token subject that started the job: only it may poll,
 * download and cancel. `access` keeps what the kick-off token could see
 * (scopes, patient), which is what the job exports.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE export_job (
      id uuid PRIMARY KEY,
      status text NOT NULL CHECK (status IN ('in-progress', 'completed', 'failed', 'cancelled')),
      level text NOT NULL CHECK (level IN ('system', 'patient', 'group')),
      group_id text,
      types text[],
      since timestamptz,
      request text NOT NULL,
      owner text NOT NULL,
      access jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      heartbeat_at timestamptz NOT NULL DEFAULT now(),
      transaction_time timestamptz,
      completed_at timestamptz,
      progress text,
      exported bigint NOT NULL DEFAULT 0,
      output jsonb,
      error text
    )
  `.execute(db);
  await sql`CREATE INDEX export_job_in_progress ON export_job (heartbeat_at) WHERE status = 'in-progress'`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS export_job`.execute(db);
}
