/** The `export_job` table (migrations/20261123050000_bulk_export.ts), typed, and the statements on it. */
import { sql, type ColumnType, type Kysely } from 'kysely';
import type { Database } from '../store/database.ts';
import type { ExportLevel, ExportPlan } from './export-plan.ts';

export type ExportStatus = 'in-progress' | 'completed' | 'failed' | 'cancelled';

/** One NDJSON file of a completed export: `name` on disk under the job's folder. */
export interface OutputFile {
  type: string;
  name: string;
  count: number;
}

interface ExportJobTable {
  id: string;
  status: ExportStatus;
  level: ExportLevel;
  group_id: string | null;
  types: string[] | null;
  since: ColumnType<Date | null, Date | null | undefined, never>;
  request: string;
  owner: string;
  access: ColumnType<ExportPlan, string, string>;
  created_at: ColumnType<Date, never, never>;
  heartbeat_at: ColumnType<Date, never, Date>;
  transaction_time: ColumnType<Date | null, never, Date>;
  completed_at: ColumnType<Date | null, never, Date>;
  progress: ColumnType<string | null, never, string>;
  exported: ColumnType<string, never, number>;
  output: ColumnType<OutputFile[] | null, never, string>;
  error: ColumnType<string | null, never, string>;
}

export type ExportDb = Kysely<Database & { export_job: ExportJobTable }>;

export function exportDb(db: Kysely<Database>): ExportDb {
  return db.withTables<{ export_job: ExportJobTable }>();
}

export interface ExportJob {
  id: string;
  status: ExportStatus;
  level: ExportLevel;
  request: string;
  owner: string;
  plan: ExportPlan;
  createdAt: Date;
  transactionTime?: Date;
  progress?: string;
  exported: number;
  output: OutputFile[];
  error?: string;
}

export interface NewJob {
  id: string;
  level: ExportLevel;
  groupId?: string;
  types?: string[];
  since?: Date;
  request: string;
  owner: string;
  plan: ExportPlan;
}

/**
 * A job's lease: the process running it renews it every `heartbeatMs`; a job
 * in progress whose lease has not been renewed for `staleAfterSeconds` lost
 * its runner (killed, crashed, cut off from the database) and is marked
 * failed by whichever instance sees it first.
 */
export const heartbeatMs = 2_000;
export const staleAfterSeconds = 10;

export async function insertJob(db: ExportDb, job: NewJob): Promise<void> {
  await db
    .insertInto('export_job')
    .values({ id: job.id, status: 'in-progress', level: job.level, group_id: job.groupId ?? null, types: job.types ?? null, since: job.since ?? null, request: job.request, owner: job.owner, access: JSON.stringify(job.plan) })
    .execute();
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isJobId(id: string): boolean {
  return uuid.test(id);
}

/** The job as stored (the service marks an interrupted one failed first). */
export async function readJob(db: ExportDb, id: string): Promise<ExportJob | undefined> {
  if (!isJobId(id)) return undefined;
  const row = await db.selectFrom('export_job').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) return undefined;
  return {
    id: row.id,
    status: row.status,
    level: row.level,
    request: row.request,
    owner: row.owner,
    plan: row.access,
    createdAt: row.created_at,
    ...(row.transaction_time ? { transactionTime: row.transaction_time } : {}),
    ...(row.progress ? { progress: row.progress } : {}),
    exported: Number(row.exported),
    output: row.output ?? [],
    ...(row.error ? { error: row.error } : {}),
  };
}

/** Marks failed the jobs in progress (one, or all) that nobody has kept alive; returns their ids. */
export async function failStale(db: ExportDb, id?: string): Promise<string[]> {
  let query = db
    .updateTable('export_job')
    .set({ status: 'failed', completed_at: new Date(), error: 'interrumpida: el servidor se detuvo antes de terminar; inicie otra exportación / interrupted: the server stopped before it finished; start a new export' })
    .where('status', '=', 'in-progress')
    .where(sql<boolean>`heartbeat_at < now() - make_interval(secs => ${staleAfterSeconds})`);
  if (id) query = query.where('id', '=', id);
  const rows = await query.returning('id').execute();
  return rows.map((r) => r.id);
}

/** The status of each of these jobs (absent: no such job). */
export async function jobStatuses(db: ExportDb, ids: string[]): Promise<Map<string, ExportStatus>> {
  if (ids.length === 0) return new Map();
  const rows = await db.selectFrom('export_job').select(['id', 'status']).where('id', 'in', ids).execute();
  return new Map(rows.map((r) => [r.id, r.status]));
}

/** Keeps the jobs this process runs alive. */
export async function heartbeat(db: ExportDb, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await db.updateTable('export_job').set({ heartbeat_at: sql<Date>`now()` }).where('id', 'in', ids).where('status', '=', 'in-progress').execute();
}

/** Records progress; false when the job is no longer in progress (cancelled meanwhile). */
export async function recordProgress(db: ExportDb, id: string, exported: number, progress: string, transactionTime?: Date): Promise<boolean> {
  const result = await db
    .updateTable('export_job')
    .set({ exported, progress, ...(transactionTime ? { transaction_time: transactionTime } : {}), heartbeat_at: sql<Date>`now()` })
    .where('id', '=', id)
    .where('status', '=', 'in-progress')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function completeJob(db: ExportDb, id: string, exported: number, output: OutputFile[]): Promise<boolean> {
  const result = await db
    .updateTable('export_job')
    .set({ status: 'completed', exported, output: JSON.stringify(output), completed_at: new Date(), progress: `${exported} recursos exportados / resources exported` })
    .where('id', '=', id)
    .where('status', '=', 'in-progress')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function failJob(db: ExportDb, id: string, error: string): Promise<void> {
  await db.updateTable('export_job').set({ status: 'failed', error, completed_at: new Date() }).where('id', '=', id).where('status', '=', 'in-progress').execute();
}

/** Cancels (or, once finished, deletes) a job; false when there was nothing left to cancel. */
export async function cancelJob(db: ExportDb, id: string): Promise<boolean> {
  const result = await db.updateTable('export_job').set({ status: 'cancelled', completed_at: new Date() }).where('id', '=', id).where('status', '!=', 'cancelled').executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}
