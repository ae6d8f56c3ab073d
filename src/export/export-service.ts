/**
 * Runs bulk exports in the background of the API process. A job streams its
 * query (export-query.ts; with includeAssociatedData, then the Provenance
 * one) through a server-side cursor (pg-cursor), in batches, inside one
 * REPEATABLE READ READ ONLY transaction, so every resource appears exactly
 * once as of one snapshot and memory stays flat whatever the database size. Jobs use their own small connection pool: an export never
 * takes the API's connections. At most `concurrency` jobs run at once; others
 * wait in order.
 *
 * Restarts: the job row (export_job) is the source of truth. This process
 * renews the lease (heartbeat) of the jobs it holds every 2 s; a job in
 * progress whose lease is 10 s old lost its runner (kill -9, crash, cut off
 * from the database) and is marked failed, its partial files deleted, by
 * whichever instance sees it first: every instance sweeps every 2 s, at
 * start-up, and whenever a status is read. Interrupted jobs are not resumed.
 * Stopping the server (close) aborts running jobs and marks them failed too.
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Kysely } from 'kysely';
import pg from 'pg';
import Cursor from 'pg-cursor';
import type { Database } from '../store/database.ts';
import { containErrors } from '../store/connect.ts';
import { isDatabaseUnavailable } from '../store/db-errors.ts';
import { historySyncPoint } from '../store/resource-store.ts';
import { cancelJob, completeJob, exportDb, failJob, failStale, heartbeat, heartbeatMs, insertJob, isJobId, jobStatuses, readJob, recordProgress, type ExportDb, type ExportJob, type NewJob } from './export-jobs.ts';
import type { ExportPlan } from './export-plan.ts';
import { elementSubsetter } from './export-elements.ts';
import { exportQuery, provenanceQuery } from './export-query.ts';
import { NdjsonFiles } from './ndjson-files.ts';

export interface ExportServiceOptions {
  databaseUrl: string;
  /** Folder holding one sub-folder of NDJSON files per job. */
  dir: string;
  /** Jobs running at once (and connections of the export pool). Default 2. */
  concurrency?: number;
  /** Resources per NDJSON file before a new file is started. Default 100,000. */
  maxResourcesPerFile?: number;
  /** Rows fetched per cursor read. Default 500. */
  batchSize?: number;
  log?: (err: unknown, message: string) => void;
}

interface Running {
  controller: AbortController;
  done: Promise<void>;
}

const progressMs = 2_000;

interface Row {
  resource_type: string;
  content: string;
}
const stoppedReason = 'interrumpida: el servidor se detuvo; inicie otra exportación / interrupted: the server stopped; start a new export';

export class ExportService {
  readonly dir: string;
  private readonly base: Kysely<Database>;
  private readonly db: ExportDb;
  private readonly pool: pg.Pool;
  private readonly concurrency: number;
  private readonly maxPerFile: number;
  private readonly batchSize: number;
  private readonly log: (err: unknown, message: string) => void;
  private readonly running = new Map<string, Running>();
  private readonly waiting: { id: string; plan: ExportPlan; start: () => void }[] = [];
  private active = 0;
  private timer: NodeJS.Timeout | undefined;
  private closing = false;

  constructor(db: Kysely<Database>, options: ExportServiceOptions) {
    this.base = db;
    this.db = exportDb(db);
    this.dir = options.dir;
    this.concurrency = options.concurrency ?? 2;
    this.maxPerFile = options.maxResourcesPerFile ?? 100_000;
    this.batchSize = options.batchSize ?? 500;
    this.log = options.log ?? (() => undefined);
    this.pool = new pg.Pool({ connectionString: options.databaseUrl, max: this.concurrency, connectionTimeoutMillis: 10_000 });
    // A job's client sits checked out for the whole export (pg-cursor): see containErrors.
    containErrors(this.pool);
  }

  /** Marks failed the jobs an earlier process left in progress, removes files no job owns, and starts the lease timer. */
  async start(): Promise<void> {
    await this.sweep();
    await this.removeOrphans();
    this.timer = setInterval(() => void this.tick(), heartbeatMs).unref();
  }

  /** Renews this process's leases, then fails (and cleans up after) the jobs whose lease expired anywhere. */
  private async tick(): Promise<void> {
    if (this.closing) return;
    try {
      await heartbeat(this.db, [...this.running.keys()]);
      await this.sweep();
    } catch (err) {
      // The database may be down: the next tick tries again; meanwhile, jobs here keep running.
      this.log(err, 'export lease renewal failed');
    }
  }

  private async sweep(id?: string): Promise<void> {
    const failed = await failStale(this.db, id);
    await Promise.all(failed.map((f) => rm(path.join(this.dir, f), { recursive: true, force: true }).catch(() => undefined)));
  }

  /** Folders of jobs that failed, were cancelled or are gone (a runner killed before it could clean up). */
  private async removeOrphans(): Promise<void> {
    const names = (await readdir(this.dir).catch(() => [] as string[])).filter(isJobId);
    const statuses = await jobStatuses(this.db, names);
    await Promise.all(
      names
        .filter((n) => {
          const status = statuses.get(n);
          return status !== 'completed' && status !== 'in-progress';
        })
        .map((n) => rm(path.join(this.dir, n), { recursive: true, force: true }).catch(() => undefined)),
    );
  }

  async kickOff(job: NewJob): Promise<void> {
    await insertJob(this.db, job);
    this.schedule(job.id, job.plan);
  }

  /** The job, with an interrupted one (expired lease) marked failed and its files removed first. */
  async read(id: string): Promise<ExportJob | undefined> {
    if (!isJobId(id)) return undefined;
    await this.sweep(id);
    return readJob(this.db, id);
  }

  /** Where a job's file lives on disk (the name is checked against the job's output by the caller). */
  filePath(id: string, name: string): string {
    return path.join(this.dir, id, name);
  }

  /** Stops the job if it runs here, marks it cancelled and removes its files; false if already cancelled. */
  async cancel(id: string): Promise<boolean> {
    const cancelled = await cancelJob(this.db, id);
    const running = this.running.get(id);
    if (running) {
      running.controller.abort();
      this.startNow(id);
      await running.done;
    }
    await rm(path.join(this.dir, id), { recursive: true, force: true });
    return cancelled;
  }

  /** Aborts running jobs (they are marked failed) and closes the export pool. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.timer) clearInterval(this.timer);
    const all = [...this.running.entries()];
    for (const [id, r] of all) {
      r.controller.abort();
      this.startNow(id);
    }
    await Promise.all(all.map(([, r]) => r.done));
    await this.pool.end();
  }

  private schedule(id: string, plan: ExportPlan): void {
    const controller = new AbortController();
    let release: () => void = () => undefined;
    const started = new Promise<void>((resolve) => (release = resolve));
    const done = started.then(() => this.run(id, plan, controller.signal)).finally(() => {
      this.running.delete(id);
      this.active--;
      this.next();
    });
    this.running.set(id, { controller, done });
    this.waiting.push({ id, plan, start: release });
    this.next();
  }

  /** Lets a waiting job run at once (it was aborted: it returns without work). */
  private startNow(id: string): void {
    const i = this.waiting.findIndex((w) => w.id === id);
    if (i < 0) return;
    const [w] = this.waiting.splice(i, 1);
    this.active++;
    w?.start();
  }

  private next(): void {
    while (!this.closing && this.active < this.concurrency && this.waiting.length > 0) {
      this.active++;
      this.waiting.shift()?.start();
    }
  }

  private async run(id: string, plan: ExportPlan, signal: AbortSignal): Promise<void> {
    const dir = path.join(this.dir, id);
    const files = new NdjsonFiles(dir, this.maxPerFile);
    let client: pg.PoolClient | undefined;
    let cursor: Cursor<Row> | undefined;
    let watch: ReturnType<typeof watchConnection> | undefined;
    if (signal.aborted) {
      if (this.closing) await failJob(this.db, id, stoppedReason).catch((e: unknown) => this.log(e, 'could not mark export failed'));
      return;
    }
    try {
      await mkdir(dir, { recursive: true });
      // Taken before the snapshot: every version stamped earlier is committed, so it is in the snapshot (see history_sync_point).
      const transactionTime = await historySyncPoint(this.base);
      if (!(await recordProgress(this.db, id, 0, 'iniciando / starting', transactionTime))) return;
      client = await this.pool.connect();
      // pg-cursor writes its reads straight to the connection: on one that broke between two reads, a read would
      // wait forever. Each read races the connection's end.
      watch = watchConnection(client);
      const lost = watch.lost;
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const subset = plan.elements ? elementSubsetter(plan.elements) : undefined;
      let exported = 0;
      let reported = performance.now();
      const write = async (rows: Row[]): Promise<void> => {
        const byType = new Map<string, string[]>();
        for (const row of rows) {
          const content = subset ? subset(row.resource_type, row.content) : row.content;
          const list = byType.get(row.resource_type);
          if (list) list.push(content);
          else byType.set(row.resource_type, [content]);
        }
        for (const [type, lines] of byType) await files.append(type, lines);
        exported += rows.length;
        if (performance.now() - reported > progressMs) {
          reported = performance.now();
          if (!(await recordProgress(this.db, id, exported, `${exported} recursos exportados / resources exported`))) throw new Error('cancelled');
        }
      };
      // Both queries in the one snapshot: the Provenance are those of exactly the resources exported.
      const queries = [exportQuery(this.base, plan), ...(plan.associated ? [provenanceQuery(this.base, plan)] : [])];
      for (const query of queries) {
        const compiled = query.compile();
        cursor = client.query(new Cursor<Row>(compiled.sql, [...compiled.parameters]));
        for (;;) {
          if (signal.aborted) throw new Error('aborted');
          const rows = await Promise.race([cursor.read(this.batchSize), lost]);
          if (rows.length === 0) break;
          await write(rows);
        }
        await Promise.race([cursor.close(), lost]);
        cursor = undefined;
      }
      await client.query('COMMIT');
      const output = await files.finish();
      if (!(await completeJob(this.db, id, exported, output))) await rm(dir, { recursive: true, force: true });
    } catch (err) {
      files.destroy();
      if (client && isDatabaseUnavailable(err)) {
        // A broken connection answers nothing: closing the cursor on it would wait forever. Discard it (the pool replaces it).
        client.release(err instanceof Error ? err : true);
        client = undefined;
      } else {
        // An open cursor holds the connection: close it first, or ROLLBACK would wait behind it forever.
        const cleanUp = (async () => {
          await cursor?.close().catch(() => undefined);
          await client?.query('ROLLBACK').catch(() => undefined);
        })();
        if (!(await settlesWithin(cleanUp, 5_000)) && client) {
          client.release(true);
          client = undefined;
        }
      }
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
      const stopped = signal.aborted || (err instanceof Error && err.message === 'cancelled');
      if (!stopped) this.log(err, `export ${id} failed`);
      const reason = this.closing ? stoppedReason : 'la exportación falló; vea el registro del servidor / the export failed; see the server log';
      await failJob(this.db, id, reason).catch((e: unknown) => this.log(e, 'could not mark export failed'));
    } finally {
      watch?.stop();
      client?.release();
    }
  }
}

/** True when `work` settles within `ms`. */
async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([work.then(() => true as const), expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** `lost` rejects when the client's connection breaks or ends; `stop` removes the listeners (the pool reuses the client). */
function watchConnection(client: pg.PoolClient): { lost: Promise<never>; stop: () => void } {
  let onError: (err: Error) => void = () => undefined;
  let onEnd: () => void = () => undefined;
  const lost = new Promise<never>((_resolve, reject) => {
    onError = reject;
    onEnd = () => reject(new Error('Connection terminated unexpectedly'));
  });
  lost.catch(() => undefined);
  client.on('error', onError);
  client.on('end', onEnd);
  return {
    lost,
    stop: () => {
      client.off('error', onError);
      client.off('end', onEnd);
    },
  };
}
