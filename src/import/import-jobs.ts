/** The `import_job` and `import_error` tables (migrations/20261201000000_bulk_import.ts) and the statements on them. */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../store/database.ts';
import type { ImportSource } from './import-sources.ts';

export type ImportStatus = 'in-progress' | 'completed' | 'failed' | 'cancelled';

export interface ImportJob {
  id: string;
  status: ImportStatus;
  request: string;
  owner: string;
  /** The kick-off token's claims-derived identity (src/auth/actor.ts), scopes as their string. */
  actor: StoredActor;
  baseUrl: string;
  ownBaseUrls: string[];
  sources: ImportSource[];
  /** The first line not yet committed: lines before it in `sources[sourceIndex]` (and every earlier source) are done. */
  sourceIndex: number;
  sourceLine: number;
  imported: number;
  failed: number;
  /** Resources imported per type. */
  counts: Record<string, number>;
  transactionTime: Date;
  error?: string;
}

export interface StoredActor {
  subject: string;
  role?: string;
  clues?: string;
  clientId?: string;
  name?: string;
  fhirUser?: string;
  scope: string;
}

export interface NewImportJob {
  id: string;
  request: string;
  owner: string;
  actor: StoredActor;
  baseUrl: string;
  ownBaseUrls: readonly string[];
  sources: ImportSource[];
}

type Db = Kysely<Database>;

interface Row {
  id: string;
  status: ImportStatus;
  request: string;
  owner: string;
  actor: StoredActor;
  base_url: string;
  own_base_urls: string[];
  sources: ImportSource[];
  source_index: number;
  source_line: string;
  imported: string;
  failed: string;
  counts: Record<string, number>;
  transaction_time: Date;
  error: string | null;
}

function toJob(row: Row): ImportJob {
  return {
    id: row.id,
    status: row.status,
    request: row.request,
    owner: row.owner,
    actor: row.actor,
    baseUrl: row.base_url,
    ownBaseUrls: row.own_base_urls,
    sources: row.sources,
    sourceIndex: row.source_index,
    sourceLine: Number(row.source_line),
    imported: Number(row.imported),
    failed: Number(row.failed),
    counts: row.counts,
    transactionTime: row.transaction_time,
    ...(row.error ? { error: row.error } : {}),
  };
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isJobId(id: string): boolean {
  return uuid.test(id);
}

/** Inserts the job already leased to `leaseOwner`: if that process dies before starting it, the lease expires and another resumes it. */
export async function insertImportJob(db: Db, job: NewImportJob, leaseOwner: string, leaseSeconds: number): Promise<void> {
  await sql`INSERT INTO import_job (id, status, request, owner, actor, base_url, own_base_urls, sources, lease_owner, lease_expires_at)
    VALUES (${job.id}, 'in-progress', ${job.request}, ${job.owner}, ${JSON.stringify(job.actor)}::jsonb, ${job.baseUrl}, ${[...job.ownBaseUrls]}::text[],
      ${JSON.stringify(job.sources)}::jsonb, ${leaseOwner}, now() + make_interval(secs => ${leaseSeconds}))`.execute(db);
}

export async function readImportJob(db: Db, id: string): Promise<ImportJob | undefined> {
  if (!isJobId(id)) return undefined;
  const { rows } = await sql<Row>`SELECT * FROM import_job WHERE id = ${id}`.execute(db);
  return rows[0] ? toJob(rows[0]) : undefined;
}

/** Takes over one job in progress whose lease has expired (its process died or stopped); undefined when there is none. */
export async function claimExpired(db: Db, leaseOwner: string, leaseSeconds: number): Promise<ImportJob | undefined> {
  const { rows } = await sql<Row>`UPDATE import_job SET lease_owner = ${leaseOwner}, lease_expires_at = now() + make_interval(secs => ${leaseSeconds})
    WHERE id = (SELECT id FROM import_job WHERE status = 'in-progress' AND lease_expires_at < now() ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
    RETURNING *`.execute(db);
  return rows[0] ? toJob(rows[0]) : undefined;
}

/** Renews the leases this process holds. */
export async function renewLeases(db: Db, ids: string[], leaseOwner: string, leaseSeconds: number): Promise<void> {
  if (ids.length === 0) return;
  await sql`UPDATE import_job SET lease_expires_at = now() + make_interval(secs => ${leaseSeconds})
    WHERE id = ANY(${ids}::uuid[]) AND lease_owner = ${leaseOwner} AND status = 'in-progress'`.execute(db);
}

/** Gives a lease up at once (graceful stop): another instance resumes the job without waiting for it to expire. */
export async function releaseLease(db: Db, id: string, leaseOwner: string): Promise<void> {
  await sql`UPDATE import_job SET lease_expires_at = now() - interval '1 second' WHERE id = ${id} AND lease_owner = ${leaseOwner} AND status = 'in-progress'`.execute(db);
}

export interface ChunkProgress {
  sourceIndex: number;
  sourceLine: number;
  imported: number;
  failed: number;
  counts: Record<string, number>;
}

/**
 * Moves the job's position, inside the chunk's transaction; false when this
 * process no longer holds the job (lease taken over, or cancelled): the caller
 * must then roll the chunk back, so nothing is imported twice.
 */
export async function advance(tx: Db, id: string, leaseOwner: string, leaseSeconds: number, p: ChunkProgress): Promise<boolean> {
  const { rows } = await sql<{ id: string }>`UPDATE import_job SET source_index = ${p.sourceIndex}, source_line = ${p.sourceLine}, imported = ${p.imported}, failed = ${p.failed},
      counts = ${JSON.stringify(p.counts)}::jsonb, lease_expires_at = now() + make_interval(secs => ${leaseSeconds})
    WHERE id = ${id} AND lease_owner = ${leaseOwner} AND status = 'in-progress' RETURNING id`.execute(tx);
  return rows.length === 1;
}

export interface LineError {
  sourceIndex: number;
  line: number;
  outcome: unknown;
}

/** One statement for a chunk's failed lines (a resumed chunk may meet them again: kept once). */
export async function insertErrors(tx: Db, id: string, errors: LineError[]): Promise<void> {
  if (errors.length === 0) return;
  await sql`INSERT INTO import_error (job_id, source_index, line, outcome)
    SELECT ${id}, e.source_index, e.line, e.outcome FROM jsonb_to_recordset(${JSON.stringify(errors.map((e) => ({ source_index: e.sourceIndex, line: e.line, outcome: e.outcome })))}::jsonb)
      AS e(source_index integer, line bigint, outcome jsonb)
    ON CONFLICT DO NOTHING`.execute(tx);
}

/** A page of the error report in file order, after (sourceIndex, line). */
export async function errorPage(db: Db, id: string, after: [number, number], limit: number): Promise<{ source_index: number; line: string; outcome: string }[]> {
  const { rows } = await sql<{ source_index: number; line: string; outcome: string }>`SELECT source_index, line, outcome::text AS outcome FROM import_error
    WHERE job_id = ${id} AND (source_index, line) > (${after[0]}, ${after[1]}) ORDER BY source_index, line LIMIT ${limit}`.execute(db);
  return rows;
}

export async function completeImport(db: Db, id: string, leaseOwner: string): Promise<boolean> {
  const { rows } = await sql<{ id: string }>`UPDATE import_job SET status = 'completed', completed_at = now()
    WHERE id = ${id} AND lease_owner = ${leaseOwner} AND status = 'in-progress' RETURNING id`.execute(db);
  return rows.length === 1;
}

export async function failImport(db: Db, id: string, error: string): Promise<void> {
  await sql`UPDATE import_job SET status = 'failed', error = ${error}, completed_at = now() WHERE id = ${id} AND status = 'in-progress'`.execute(db);
}

/** Cancels a job still in progress; false when it had already finished or been cancelled. */
export async function cancelImport(db: Db, id: string): Promise<boolean> {
  const { rows } = await sql<{ id: string }>`UPDATE import_job SET status = 'cancelled', completed_at = now() WHERE id = ${id} AND status = 'in-progress' RETURNING id`.execute(db);
  return rows.length === 1;
}
