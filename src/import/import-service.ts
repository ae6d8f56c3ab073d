/**
 * Runs bulk imports in the background of the API process. A job reads its
 * sources in order, line by line (memory stays flat whatever their size), and
 * writes them in chunks: each chunk is one transaction holding its resources
 * (through the same create/update interactions as the REST API, so the same
 * validation, reference rules, index rows, hooks and audit records), its
 * lines' error rows and the job's new position. A resource is therefore
 * stored with all its index rows or not at all, and a resumed job starts at
 * the first line not committed.
 *
 * Leases: the instance running a job renews its lease; a job whose lease
 * expired (the process died) is claimed by whichever instance looks first and
 * resumed from its position. Stopping the server gives its leases up at once.
 * If a source can no longer be read on resume (an upload kept on another
 * machine's disk), the job fails with that reason: nothing is half-imported.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import type { Kysely } from 'kysely';
import type { Actor } from '../auth/actor.ts';
import { authorize } from '../auth/guard.ts';
import { isRole } from '../auth/roles.ts';
import { parseScopes } from '../auth/scopes.ts';
import type { AuditInfo } from '../audit/audit-info.ts';
import { conditionalReferenceSearches, resolveConditionalReferences } from '../fhir/conditional-references.ts';
import { BundleMatches } from '../fhir/bundle-matches.ts';
import { KnownVersions } from '../fhir/known-versions.ts';
import { create } from '../fhir/create.ts';
import { isResourceType } from '../fhir/definitions.ts';
import { badRequest, FhirError, isFhirError, outcome } from '../fhir/errors.ts';
import { requireResource } from '../fhir/resource-body.ts';
import type { FhirContext, FhirRequest } from '../fhir/types.ts';
import { update } from '../fhir/update.ts';
import { WriteBatch } from '../fhir/write-batch.ts';
import { parseJson } from '../json/lossless.ts';
import type { Database } from '../store/database.ts';
import {
  advance, cancelImport, claimExpired, completeImport, failImport, insertErrors, insertImportJob, readImportJob, releaseLease, renewLeases,
  type ChunkProgress, type ImportJob, type LineError, type NewImportJob, type StoredActor,
} from './import-jobs.ts';
import { SourceUnavailable, sourceLines } from './import-sources.ts';

export type ImportBaseContext = Omit<FhirContext, 'baseUrl' | 'ownBaseUrls' | 'actor' | 'audit'>;

export interface ImportServiceOptions {
  /** Where uploaded NDJSON files are kept until their job ends (main.ts: DATA_DIR/imports). */
  dir: string;
  /** IMPORT_ALLOWED_SOURCES: URL prefixes the server may fetch NDJSON from. */
  allowedSources: readonly string[];
  /** Seconds a job's lease lasts without renewal; a dead instance's job is resumed after this. Default 30. */
  leaseSeconds?: number;
  /** Lines per committed chunk. Default 500. */
  chunkSize?: number;
  /** Lines per statement sent ahead inside a chunk (WriteBatch sendEvery). Default 100; 0: the chunk's creates as one statement at its end. */
  sendEvery?: number;
  /** Jobs run at once by this instance. Default 1 (each takes one API connection while it commits). */
  concurrency?: number;
  /** false: accept jobs but never run them here (tests: an instance that dies right after the kick-off). */
  run?: boolean;
  log?: (err: unknown, message: string) => void;
}

interface Running {
  controller: AbortController;
  done: Promise<void>;
}

interface Line {
  n: number;
  text: string;
}

/** A line refused inside the chunk's transaction: the chunk is rolled back and redone without it. */
class LineFailed extends Error {
  readonly n: number;
  readonly error: FhirError;
  constructor(n: number, error: FhirError) {
    super(error.message);
    this.n = n;
    this.error = error;
  }
}

class LeaseLost extends Error {}

export function storedActor(actor: Actor): StoredActor {
  const { scopes: _parsed, patient: _patient, ...rest } = actor;
  return rest;
}

function actorOf(stored: StoredActor): Actor {
  return { ...stored, role: isRole(stored.role) ? stored.role : undefined, scopes: parseScopes(stored.scope) };
}

export class ImportService {
  readonly dir: string;
  readonly allowedSources: readonly string[];
  private readonly db: Kysely<Database>;
  private readonly leaseSeconds: number;
  private readonly chunkSize: number;
  private readonly sendEvery: number;
  private readonly concurrency: number;
  private readonly runsJobs: boolean;
  private readonly log: (err: unknown, message: string) => void;
  /** This process, as a lease holder. */
  private readonly me = randomUUID();
  private readonly running = new Map<string, Running>();
  private context: ImportBaseContext | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closing = false;
  private claiming = false;

  constructor(db: Kysely<Database>, options: ImportServiceOptions) {
    this.db = db;
    this.dir = options.dir;
    this.allowedSources = options.allowedSources;
    this.leaseSeconds = options.leaseSeconds ?? 30;
    this.chunkSize = options.chunkSize ?? 500;
    this.sendEvery = options.sendEvery ?? 100;
    this.concurrency = options.concurrency ?? 1;
    this.runsJobs = options.run !== false;
    this.log = options.log ?? (() => undefined);
  }

  /** The context every import write runs with (the API's, without a request); then resumes abandoned jobs. */
  start(context: ImportBaseContext): void {
    this.context = context;
    if (!this.runsJobs) return;
    // Renew what we hold and look for abandoned jobs a few times per lease.
    this.timer = setInterval(() => void this.tick(), (this.leaseSeconds * 1000) / 3).unref();
    void this.tick();
  }

  async kickOff(job: NewImportJob): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await insertImportJob(this.db, job, this.me, this.leaseSeconds);
    if (this.runsJobs && this.running.size < this.concurrency) {
      const stored = await readImportJob(this.db, job.id);
      if (stored) this.launch(stored);
    }
  }

  read(id: string): Promise<ImportJob | undefined> {
    return readImportJob(this.db, id);
  }

  /** Stops the job (what was committed stays imported); false when it had already ended. */
  async cancel(job: ImportJob): Promise<boolean> {
    const cancelled = await cancelImport(this.db, job.id);
    const running = this.running.get(job.id);
    if (running) {
      running.controller.abort();
      await running.done;
    }
    await this.removeUploads(job);
    return cancelled;
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.timer) clearInterval(this.timer);
    const all = [...this.running.values()];
    for (const r of all) r.controller.abort();
    await Promise.all(all.map((r) => r.done));
  }

  private async tick(): Promise<void> {
    if (this.closing || this.claiming) return;
    this.claiming = true;
    try {
      await renewLeases(this.db, [...this.running.keys()], this.me, this.leaseSeconds);
      while (!this.closing && this.running.size < this.concurrency) {
        const job = await claimExpired(this.db, this.me, this.leaseSeconds);
        if (!job) break;
        this.launch(job);
      }
    } catch (err) {
      this.log(err, 'import lease renewal failed');
    } finally {
      this.claiming = false;
    }
  }

  private launch(job: ImportJob): void {
    const controller = new AbortController();
    const done = this.run(job, controller.signal).finally(() => this.running.delete(job.id));
    this.running.set(job.id, { controller, done });
  }

  private async run(job: ImportJob, signal: AbortSignal): Promise<void> {
    const base = this.context;
    if (!base) throw new Error('ImportService.start() was not called');
    const actor = actorOf(job.actor);
    const ctx: FhirContext = { ...base, baseUrl: job.baseUrl, ownBaseUrls: job.ownBaseUrls, actor };
    const progress: ChunkProgress = { sourceIndex: job.sourceIndex, sourceLine: job.sourceLine, imported: job.imported, failed: job.failed, counts: { ...job.counts } };
    // Conditional references resolved so far (a Synthea export names the same hospital thousands of times); emptied when a chunk rolls back.
    const resolved = new Map<string, string>();
    // The next chunk is validated while the database writes the one before: its validation starts once that chunk's
    // statement is on its way (`sent`), not before, or it would hold the event loop while the chunk still has its
    // own lines to stamp and index, and the database would wait idle (the server was idle 44 % of an import so).
    // Commits stay in order, one at a time (each moves the job's position on from the one before).
    let committing: Promise<void> | undefined;
    let sent: Promise<void> | undefined;
    const commit = async (si: number, chunk: Line[], next: Pick<ChunkProgress, 'sourceIndex' | 'sourceLine'>) => {
      if (sent) await sent;
      const prepared = this.prepareChunk(job, ctx, si, chunk);
      if (committing) await committing;
      let wrote: () => void = () => undefined;
      sent = new Promise<void>((resolve) => (wrote = resolve));
      committing = this.commitChunk(job, ctx, si, prepared, next, progress, resolved, () => setImmediate(wrote)).finally(() => wrote());
      // Awaited before the next commit or the end; meanwhile a failure must not go unhandled.
      committing.catch(() => undefined);
    };
    try {
      for (let si = job.sourceIndex; si < job.sources.length; si++) {
        const source = job.sources[si]!;
        let chunk: Line[] = [];
        for await (const line of sourceLines(source, this.dir, si === job.sourceIndex ? job.sourceLine : 0, signal)) {
          if (signal.aborted) throw new LeaseLost('aborted');
          chunk.push(line);
          if (chunk.length >= this.chunkSize) {
            await commit(si, chunk, { sourceIndex: si, sourceLine: line.n });
            chunk = [];
          }
        }
        await commit(si, chunk, { sourceIndex: si + 1, sourceLine: 0 });
      }
      await committing;
      if (await completeImport(this.db, job.id, this.me)) await this.removeUploads(job);
    } catch (err) {
      // A chunk still committing finishes (or fails) before the job is handed on or marked failed.
      await committing?.catch(() => undefined);
      if (err instanceof LeaseLost || signal.aborted) {
        // Cancelled, taken over, or this server is stopping: a stopping server hands the job on at once.
        if (this.closing) await releaseLease(this.db, job.id, this.me).catch((e: unknown) => this.log(e, 'could not release import lease'));
        return;
      }
      const reason = err instanceof SourceUnavailable ? err.message : 'la importación falló; vea el registro del servidor / the import failed; see the server log';
      if (!(err instanceof SourceUnavailable)) this.log(err, `import ${job.id} failed`);
      await failImport(this.db, job.id, reason).catch((e: unknown) => this.log(e, 'could not mark import failed'));
      await this.removeUploads(job);
    }
  }

  /**
   * One transaction for the chunk's resources, its error rows and the new
   * position. A line refused inside it rolls the chunk back; the chunk is
   * redone without that line (refusals are rare: most are caught by the
   * validation before the transaction).
   */
  private prepareChunk(job: ImportJob, ctx: FhirContext, si: number, chunk: Line[]): PreparedChunk {
    const source = job.sources[si]!;
    const errors: LineError[] = [];
    const valid: PreparedChunk['valid'] = [];
    for (const line of chunk) {
      try {
        valid.push({ n: line.n, text: line.text, resource: prepare(line.text, source.type, ctx) });
      } catch (err) {
        if (!isFhirError(err)) throw err;
        errors.push(lineError(job, si, line.n, err));
      }
    }
    return { valid, errors };
  }

  private async commitChunk(job: ImportJob, ctx: FhirContext, si: number, prepared: PreparedChunk, next: Pick<ChunkProgress, 'sourceIndex' | 'sourceLine'>, progress: ChunkProgress, resolved: Map<string, string>, onSent: () => void): Promise<void> {
    const { errors } = prepared;
    let { valid } = prepared;
    const fail = (n: number, error: FhirError) => errors.push(lineError(job, si, n, error));
    for (let attempt = 0; ; attempt++) {
      try {
        const counts = await this.db.transaction().execute(async (tx) => {
          // Validated just above: the interactions need not validate again (it is most of a write's CPU).
          // New resources go out together, one statement per table (src/fhir/write-batch.ts); any read sends them first.
          // Sent every `sendEvery` lines without waiting: PostgreSQL writes them while the next are stamped and indexed.
          const batch = new WriteBatch(tx, this.sendEvery > 0 ? { sendEvery: this.sendEvery } : {});
          // The chunk's current versions and its conditional references, each read in one query (not one per line).
          const versions = await KnownVersions.load(tx, valid.flatMap(({ resource: r }) => (r.id ? [{ type: r.resourceType, id: r.id }] : [])));
          const criteria = valid.flatMap(({ resource }) => conditionalReferenceSearches(resource).map((parsed) => ({ parsed, conditionalWrite: false })));
          const matches = await BundleMatches.load(tx, criteria, ctx.actor);
          const txCtx: FhirContext = { ...ctx, db: tx, validate: () => [], writeBatch: batch, versions, matches };
          const added: Record<string, number> = {};
          try {
            for (const { n, text, resource } of valid) {
              try {
                // The first attempt writes the object validated above; a redone chunk parses its lines afresh, since a
                // rolled-back attempt must not leave rewritten references behind.
                await this.writeOne(attempt === 0 ? resource : (parseJson(text) as Resource), txCtx, job, resolved);
              } catch (err) {
                throw isFhirError(err) ? new LineFailed(n, err) : err;
              }
              added[resource.resourceType] = (added[resource.resourceType] ?? 0) + 1;
            }
            const closing = batch.close();
            // The chunk's rows are on their way (setImmediate: after the driver has written them): the next chunk may take the CPU.
            onSent();
            await closing;
          } catch (err) {
            batch.discard();
            throw err;
          }
          const imported = progress.imported + valid.length;
          const failed = progress.failed + errors.length;
          const total = { ...progress.counts };
          for (const [type, count] of Object.entries(added)) total[type] = (total[type] ?? 0) + count;
          await insertErrors(tx, job.id, errors);
          if (!(await advance(tx, job.id, this.me, this.leaseSeconds, { ...next, imported, failed, counts: total }))) throw new LeaseLost('lease lost');
          return { imported, failed, total };
        });
        Object.assign(progress, next, { imported: counts.imported, failed: counts.failed, counts: counts.total });
        return;
      } catch (err) {
        resolved.clear();
        if (!(err instanceof LineFailed)) throw err;
        fail(err.n, err.error);
        valid = valid.filter((v) => v.n !== err.n);
      }
    }
  }

  /** As the REST API would: update (create-or-replace) when the line names its id, as bulk import keeps ids; create otherwise. */
  private async writeOne(resource: Resource, ctx: FhirContext, job: ImportJob, resolved: Map<string, string>): Promise<void> {
    const type = resource.resourceType;
    await resolveConditionalReferences(resource, ctx, type, resolved);
    const audit: AuditInfo = {
      requestId: job.id,
      clientIp: '',
      actor: ctx.actor,
      interaction: resource.id ? 'update' : 'create',
      operation: '$import',
      resourceType: type,
      resourceId: resource.id,
      patients: new Set(),
      recordedInTransaction: false,
      done: false,
    };
    const req: FhirRequest = { method: resource.id ? 'PUT' : 'POST', resourceType: type, id: resource.id, query: {}, body: resource, headers: {} };
    await (resource.id ? update(req, { ...ctx, audit }) : create(req, { ...ctx, audit }));
  }

  private async removeUploads(job: ImportJob): Promise<void> {
    for (const s of job.sources) if (s.kind === 'upload') await this.removeUpload(s.file);
  }

  /** Removes an uploaded file (its job ended, or its kick-off was refused). */
  async removeUpload(file: string): Promise<void> {
    await rm(path.join(this.dir, file), { force: true }).catch(() => undefined);
  }
}

/** Parses and validates one line as the REST API would its body; authorised as the kick-off's caller. */
function prepare(text: string, expectedType: string | undefined, ctx: FhirContext): Resource {
  let body: unknown;
  try {
    body = parseJson(text);
  } catch {
    throw badRequest({ es: 'La línea no es JSON', en: 'The line is not JSON' }, undefined, 'structure');
  }
  const type = (body as { resourceType?: unknown } | null)?.resourceType;
  if (typeof type !== 'string' || !isResourceType(type)) {
    throw badRequest({ es: 'La línea no es un recurso FHIR R4 (resourceType desconocido)', en: 'The line is not a FHIR R4 resource (unknown resourceType)' }, 'resourceType');
  }
  if (expectedType && type !== expectedType) {
    throw badRequest({ es: `La fuente es de tipo ${expectedType}, la línea es ${type}`, en: `The source holds ${expectedType}, the line is a ${type}` }, 'resourceType');
  }
  const id = (body as { id?: unknown }).id;
  if (ctx.actor) authorize(ctx.actor, { permission: id === undefined ? 'c' : 'u', resourceType: type });
  return requireResource(body, type, ctx);
}

interface PreparedChunk {
  valid: { n: number; text: string; resource: Resource }[];
  errors: LineError[];
}

function lineError(job: ImportJob, si: number, n: number, error: FhirError): LineError {
  const source = job.sources[si]!;
  return { sourceIndex: si, line: n, outcome: lineOutcome(error, source.kind === 'url' ? source.url : `upload ${si + 1}`, n) };
}

function lineOutcome(error: FhirError, source: string, n: number): unknown {
  const where = { es: `${source}, línea ${n}`, en: `${source}, line ${n}` };
  return outcome(error.outcome.issue.map((i) => ({ ...i, details: { text: `${where.es}: ${i.details?.text ?? ''}` }, diagnostics: `${where.en} (HTTP ${error.status})` })));
}
